"""A word-level language model trained the way pytorch/examples ``word_language_model`` does.

A compatibility program: its only minigrad-specific lines are the imports, so
replacing ``minigrad`` by ``torch`` in them gives a PyTorch program that computes
the same thing. The idioms it exercises:

- ``RNNModel``: ``nn.Embedding`` -> ``nn.LSTM``/``nn.GRU`` (built by name with
  ``getattr(nn, rnn_type)``) or ``nn.RNN(nonlinearity=...)`` -> ``nn.Linear`` decoder,
  optional weight tying, ``nn.init.uniform_``/``zeros_``, ``init_hidden`` from
  ``next(self.parameters()).new_zeros(...)``, ``F.log_softmax``;
- ``TransformerModel``: ``nn.TransformerEncoder`` of ``nn.TransformerEncoderLayer``
  (sequence-first, PyTorch's default), a causal mask from
  ``nn.Transformer.generate_square_subsequent_mask``, and a ``PositionalEncoding``
  module whose sine table is a registered buffer filled with strided ``__setitem__``;
- ``batchify`` (``narrow``, ``view``, ``t()``, ``contiguous()``) and ``get_batch``;
- training with ``model.zero_grad()``, ``repackage_hidden`` (detaching the LSTM's
  ``(h, c)`` tuple between batches), ``torch.nn.utils.clip_grad_norm_`` and the
  manual update ``p.data.add_(p.grad, alpha=-lr)``; evaluation under
  ``torch.no_grad()``; the learning rate divided by 4 when validation stops improving.

The corpus is synthetic: token ids drawn from a sparse random Markov chain with
NumPy (so both libraries see the same text), which a model can learn to predict.
"""

import math

import numpy as np

import minigrad as torch
import minigrad.nn as nn
import minigrad.nn.functional as F


class RNNModel(nn.Module):
    """Container module with an encoder, a recurrent module, and a decoder."""

    def __init__(self, rnn_type, ntoken, ninp, nhid, nlayers, dropout=0.5, tie_weights=False):
        super().__init__()
        self.ntoken = ntoken
        self.drop = nn.Dropout(dropout)
        self.encoder = nn.Embedding(ntoken, ninp)
        if rnn_type in ["LSTM", "GRU"]:
            self.rnn = getattr(nn, rnn_type)(ninp, nhid, nlayers, dropout=dropout)
        else:
            try:
                nonlinearity = {"RNN_TANH": "tanh", "RNN_RELU": "relu"}[rnn_type]
            except KeyError as e:
                raise ValueError("An invalid option for `rnn_type` was supplied, options are "
                                 "['LSTM', 'GRU', 'RNN_TANH' or 'RNN_RELU']") from e
            self.rnn = nn.RNN(ninp, nhid, nlayers, nonlinearity=nonlinearity, dropout=dropout)
        self.decoder = nn.Linear(nhid, ntoken)

        if tie_weights:
            if nhid != ninp:
                raise ValueError("When using the tied flag, nhid must be equal to emsize")
            self.decoder.weight = self.encoder.weight

        self.init_weights()

        self.rnn_type = rnn_type
        self.nhid = nhid
        self.nlayers = nlayers

    def init_weights(self):
        initrange = 0.1
        nn.init.uniform_(self.encoder.weight, -initrange, initrange)
        nn.init.zeros_(self.decoder.bias)
        nn.init.uniform_(self.decoder.weight, -initrange, initrange)

    def forward(self, input, hidden):
        emb = self.drop(self.encoder(input))
        output, hidden = self.rnn(emb, hidden)
        output = self.drop(output)
        decoded = self.decoder(output)
        decoded = decoded.view(-1, self.ntoken)
        return F.log_softmax(decoded, dim=1), hidden

    def init_hidden(self, bsz):
        weight = next(self.parameters())
        if self.rnn_type == "LSTM":
            return (weight.new_zeros(self.nlayers, bsz, self.nhid),
                    weight.new_zeros(self.nlayers, bsz, self.nhid))
        return weight.new_zeros(self.nlayers, bsz, self.nhid)


class PositionalEncoding(nn.Module):
    r"""Sine and cosine positions added to the embeddings (Vaswani et al., 2017).

    $PE_{(pos, 2i)} = \sin(pos / 10000^{2i/d})$, $PE_{(pos, 2i+1)} = \cos(pos / 10000^{2i/d})$.
    """

    def __init__(self, d_model, dropout=0.1, max_len=5000):
        super().__init__()
        self.dropout = nn.Dropout(p=dropout)

        pe = torch.zeros(max_len, d_model)
        position = torch.arange(0, max_len, dtype=torch.float).unsqueeze(1)
        div_term = torch.exp(torch.arange(0, d_model, 2).float() * (-math.log(10000.0) / d_model))
        pe[:, 0::2] = torch.sin(position * div_term)
        pe[:, 1::2] = torch.cos(position * div_term)
        pe = pe.unsqueeze(0).transpose(0, 1)
        self.register_buffer("pe", pe)

    def forward(self, x):
        x = x + self.pe[:x.size(0), :]
        return self.dropout(x)


class TransformerModel(nn.Module):
    """Container module with an encoder, a causal transformer encoder, and a decoder."""

    def __init__(self, ntoken, ninp, nhead, nhid, nlayers, dropout=0.5):
        super().__init__()
        self.model_type = "Transformer"
        self.src_mask = None
        self.pos_encoder = PositionalEncoding(ninp, dropout)
        encoder_layers = nn.TransformerEncoderLayer(ninp, nhead, nhid, dropout)
        self.encoder = nn.TransformerEncoder(encoder_layers, nlayers)
        self.input_emb = nn.Embedding(ntoken, ninp)
        self.ninp = ninp
        self.decoder = nn.Linear(ninp, ntoken)

        self.init_weights()

    def init_weights(self):
        initrange = 0.1
        nn.init.uniform_(self.input_emb.weight, -initrange, initrange)
        nn.init.zeros_(self.decoder.bias)
        nn.init.uniform_(self.decoder.weight, -initrange, initrange)

    def forward(self, src, has_mask=True):
        if has_mask:
            if self.src_mask is None or self.src_mask.size(0) != len(src):
                mask = nn.Transformer.generate_square_subsequent_mask(len(src))
                self.src_mask = mask
        else:
            self.src_mask = None

        src = self.input_emb(src) * math.sqrt(self.ninp)
        src = self.pos_encoder(src)
        output = self.encoder(src, mask=self.src_mask)
        output = self.decoder(output)
        return F.log_softmax(output, dim=-1)


# ----------------------------------------------------------------------------- data


def make_corpus(n_tokens, ntoken=16, seed=0):
    """A token stream from a random Markov chain where each word has two likely successors."""
    rng = np.random.default_rng(12345)  # the "language": the same for train and validation
    successors = rng.integers(0, ntoken, (ntoken, 2))
    rng = np.random.default_rng(seed)
    ids = np.empty(n_tokens, dtype=np.int64)
    ids[0] = 0
    for i in range(1, n_tokens):
        if rng.random() < 0.1:
            ids[i] = rng.integers(ntoken)
        else:
            ids[i] = successors[ids[i - 1], rng.integers(2)]
    return ids


def batchify(data, bsz):
    # Work out how cleanly we can divide the dataset into bsz parts.
    nbatch = data.size(0) // bsz
    # Trim off any extra elements that wouldn't cleanly fit (remainders).
    data = data.narrow(0, 0, nbatch * bsz)
    # Evenly divide the data across the bsz batches.
    data = data.view(bsz, -1).t().contiguous()
    return data


def get_batch(source, i, bptt):
    seq_len = min(bptt, len(source) - 1 - i)
    data = source[i:i + seq_len]
    target = source[i + 1:i + 1 + seq_len].view(-1)
    return data, target


def repackage_hidden(h):
    """Wraps hidden states in new Tensors, to detach them from their history."""
    if isinstance(h, torch.Tensor):
        return h.detach()
    return tuple(repackage_hidden(v) for v in h)


# ----------------------------------------------------------------------------- train / evaluate


def evaluate(model, data_source, criterion, ntokens, eval_batch_size, bptt):
    model.eval()
    total_loss = 0.
    if model_type(model) != "Transformer":
        hidden = model.init_hidden(eval_batch_size)
    with torch.no_grad():
        for i in range(0, data_source.size(0) - 1, bptt):
            data, targets = get_batch(data_source, i, bptt)
            if model_type(model) == "Transformer":
                output = model(data)
                output = output.view(-1, ntokens)
            else:
                output, hidden = model(data, hidden)
                hidden = repackage_hidden(hidden)
            total_loss += len(data) * criterion(output, targets).item()
    return total_loss / (len(data_source) - 1)


def model_type(model):
    return getattr(model, "model_type", "RNN")


def train_epoch(model, train_data, criterion, ntokens, batch_size, bptt, lr, clip, losses, steps):
    model.train()
    if model_type(model) != "Transformer":
        hidden = model.init_hidden(batch_size)
    for i in range(0, train_data.size(0) - 1, bptt):
        data, targets = get_batch(train_data, i, bptt)
        # Starting each batch, we detach the hidden state from how it was previously produced.
        # If we didn't, the model would try backpropagating all the way to start of the dataset.
        model.zero_grad()
        if model_type(model) == "Transformer":
            output = model(data)
            output = output.view(-1, ntokens)
        else:
            hidden = repackage_hidden(hidden)
            output, hidden = model(data, hidden)
        loss = criterion(output, targets)
        loss.backward()

        # `clip_grad_norm` helps prevent the exploding gradient problem in RNNs / LSTMs.
        torch.nn.utils.clip_grad_norm_(model.parameters(), clip)
        for p in model.parameters():
            p.data.add_(p.grad, alpha=-lr)

        losses.append(loss.item())
        if len(losses) >= steps:
            break


def main(steps=50, model="LSTM", emsize=32, nhid=32, nlayers=2, nhead=2, lr=20.0, clip=0.25,
         bptt=12, batch_size=8, eval_batch_size=5, dropout=0.2, tied=False, seed=1,
         ntokens=16, n_train=1200, n_valid=300, init=None, log=None):
    """Train for ``steps`` batches and return the training losses.

    Args:
        steps: number of updates (batches of ``bptt`` x ``batch_size`` tokens).
        model: ``"LSTM"``, ``"GRU"``, ``"RNN_TANH"``, ``"RNN_RELU"`` or ``"Transformer"``.
        emsize, nhid, nlayers, nhead: sizes, as the example's command-line options.
        lr, clip: initial learning rate (divided by 4 when validation stops improving)
            and the gradient-norm cap.
        bptt, batch_size, eval_batch_size: as in the example.
        dropout: every dropout probability (0 for exact comparisons).
        tied: tie the embedding and the decoder weights (RNN models).
        seed: ``torch.manual_seed`` and the synthetic corpus.
        ntokens, n_train, n_valid: vocabulary and corpus sizes.
        init: called with the model right after it is built (to load given weights).
        log: a list that receives the validation loss after every epoch.
    """
    torch.manual_seed(seed)
    train_data = batchify(torch.from_numpy(make_corpus(n_train, ntokens, seed)), batch_size)
    val_data = batchify(torch.from_numpy(make_corpus(n_valid, ntokens, seed + 1)), eval_batch_size)

    if model == "Transformer":
        net = TransformerModel(ntokens, emsize, nhead, nhid, nlayers, dropout)
    else:
        net = RNNModel(model, ntokens, emsize, nhid, nlayers, dropout, tied)
    if init is not None:
        init(net)
    criterion = nn.NLLLoss()

    losses = []
    best_val_loss = None
    while len(losses) < steps:
        train_epoch(net, train_data, criterion, ntokens, batch_size, bptt, lr, clip, losses, steps)
        val_loss = evaluate(net, val_data, criterion, ntokens, eval_batch_size, bptt)
        if log is not None:
            log.append(val_loss)
        # Anneal the learning rate if no improvement has been seen in the validation dataset.
        if best_val_loss is None or val_loss < best_val_loss:
            best_val_loss = val_loss
        else:
            lr /= 4.0
    return losses


if __name__ == "__main__":
    for kind in ("LSTM", "Transformer"):
        history = main(40, model=kind)
        print(f"{kind:>12}: loss {history[0]:.4f} -> {history[-1]:.4f}, "
              f"ppl {math.exp(history[-1]):8.2f}")
