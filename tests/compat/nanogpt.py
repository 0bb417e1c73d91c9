"""A GPT written and trained the way karpathy's nanoGPT (``model.py``, ``train.py``) does.

A compatibility program: its only minigrad-specific lines are the imports, so
replacing ``minigrad`` by ``torch`` in them gives a PyTorch program that computes
the same thing. The idioms it exercises:

- ``CausalSelfAttention``: one ``c_attn`` projection ``split`` into q, k, v,
  ``view(B, T, nh, hs).transpose(1, 2)``, scores ``masked_fill``-ed with
  ``-inf`` where a registered ``torch.tril(torch.ones(T, T)).view(1, 1, T, T)``
  buffer is 0, ``F.softmax``, ``y.transpose(1, 2).contiguous().view(B, T, C)``
  (or ``F.scaled_dot_product_attention(..., is_causal=True)`` with ``flash=True``);
- ``LayerNorm`` with an optional bias through ``F.layer_norm``, ``MLP`` with
  ``nn.GELU()``, pre-norm ``Block``s;
- ``GPT``: ``nn.ModuleDict`` with ``wte``/``wpe``/``drop``/``h``/``ln_f``, weight
  tying ``self.transformer.wte.weight = self.lm_head.weight``, ``self.apply(self._init_weights)``
  with ``torch.nn.init.normal_``/``zeros_``, the scaled init of ``c_proj.weight``,
  ``F.cross_entropy(..., ignore_index=-1)``, ``configure_optimizers`` with two AdamW
  parameter groups (decay when ``p.dim() >= 2``), ``generate`` under ``@torch.no_grad()``
  with ``torch.topk``, ``logits[logits < v[:, [-1]]] = -float('Inf')``,
  ``torch.multinomial`` and ``torch.cat``;
- ``train.py``'s loop: ``get_batch`` stacking ``torch.from_numpy`` windows, a warmup +
  cosine learning rate written into ``optimizer.param_groups``, gradient clipping,
  ``zero_grad(set_to_none=True)``, ``estimate_loss`` under ``@torch.no_grad()``, and a
  checkpoint ``torch.save({'model': ..., 'optimizer': ..., 'iter_num': ...})`` resumed
  with ``torch.load(path, map_location=...)``.

The text is synthetic (a random Markov chain over a small vocabulary, made with
NumPy), and batch positions come from a NumPy generator seeded by the iteration
number, so that two libraries, or a run and its resumption, see the same batches.
"""

import inspect
import math
import os
from dataclasses import dataclass

import numpy as np

import minigrad as torch
import minigrad.nn as nn
from minigrad.nn import functional as F


class LayerNorm(nn.Module):
    """LayerNorm but with an optional bias. PyTorch doesn't support simply bias=False."""

    def __init__(self, ndim, bias):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(ndim))
        self.bias = nn.Parameter(torch.zeros(ndim)) if bias else None

    def forward(self, input):
        return F.layer_norm(input, self.weight.shape, self.weight, self.bias, 1e-5)


class CausalSelfAttention(nn.Module):

    def __init__(self, config):
        super().__init__()
        assert config.n_embd % config.n_head == 0
        # key, query, value projections for all heads, but in a batch
        self.c_attn = nn.Linear(config.n_embd, 3 * config.n_embd, bias=config.bias)
        # output projection
        self.c_proj = nn.Linear(config.n_embd, config.n_embd, bias=config.bias)
        # regularization
        self.attn_dropout = nn.Dropout(config.dropout)
        self.resid_dropout = nn.Dropout(config.dropout)
        self.n_head = config.n_head
        self.n_embd = config.n_embd
        self.dropout = config.dropout
        self.flash = config.flash and hasattr(torch.nn.functional, "scaled_dot_product_attention")
        if not self.flash:
            # causal mask to ensure that attention is only applied to the left in the input sequence
            self.register_buffer("bias", torch.tril(torch.ones(config.block_size, config.block_size))
                                 .view(1, 1, config.block_size, config.block_size))

    def forward(self, x):
        B, T, C = x.size()  # batch size, sequence length, embedding dimensionality (n_embd)

        # calculate query, key, values for all heads in batch and move head forward to be the batch dim
        q, k, v = self.c_attn(x).split(self.n_embd, dim=2)
        k = k.view(B, T, self.n_head, C // self.n_head).transpose(1, 2)  # (B, nh, T, hs)
        q = q.view(B, T, self.n_head, C // self.n_head).transpose(1, 2)  # (B, nh, T, hs)
        v = v.view(B, T, self.n_head, C // self.n_head).transpose(1, 2)  # (B, nh, T, hs)

        # causal self-attention; Self-attend: (B, nh, T, hs) x (B, nh, hs, T) -> (B, nh, T, T)
        if self.flash:
            y = torch.nn.functional.scaled_dot_product_attention(
                q, k, v, attn_mask=None, dropout_p=self.dropout if self.training else 0,
                is_causal=True)
        else:
            att = (q @ k.transpose(-2, -1)) * (1.0 / math.sqrt(k.size(-1)))
            att = att.masked_fill(self.bias[:, :, :T, :T] == 0, float("-inf"))
            att = F.softmax(att, dim=-1)
            att = self.attn_dropout(att)
            y = att @ v  # (B, nh, T, T) x (B, nh, T, hs) -> (B, nh, T, hs)
        y = y.transpose(1, 2).contiguous().view(B, T, C)  # re-assemble all head outputs side by side

        # output projection
        y = self.resid_dropout(self.c_proj(y))
        return y


class MLP(nn.Module):

    def __init__(self, config):
        super().__init__()
        self.c_fc = nn.Linear(config.n_embd, 4 * config.n_embd, bias=config.bias)
        self.gelu = nn.GELU()
        self.c_proj = nn.Linear(4 * config.n_embd, config.n_embd, bias=config.bias)
        self.dropout = nn.Dropout(config.dropout)

    def forward(self, x):
        x = self.c_fc(x)
        x = self.gelu(x)
        x = self.c_proj(x)
        x = self.dropout(x)
        return x


class Block(nn.Module):

    def __init__(self, config):
        super().__init__()
        self.ln_1 = LayerNorm(config.n_embd, bias=config.bias)
        self.attn = CausalSelfAttention(config)
        self.ln_2 = LayerNorm(config.n_embd, bias=config.bias)
        self.mlp = MLP(config)

    def forward(self, x):
        x = x + self.attn(self.ln_1(x))
        x = x + self.mlp(self.ln_2(x))
        return x


@dataclass
class GPTConfig:
    block_size: int = 16
    vocab_size: int = 32
    n_layer: int = 2
    n_head: int = 2
    n_embd: int = 32
    dropout: float = 0.0
    bias: bool = True  # True: bias in Linears and LayerNorms, like GPT-2. False: a bit better and faster
    flash: bool = False  # True: F.scaled_dot_product_attention instead of the masked_fill path


class GPT(nn.Module):

    def __init__(self, config):
        super().__init__()
        assert config.vocab_size is not None
        assert config.block_size is not None
        self.config = config

        self.transformer = nn.ModuleDict(dict(
            wte=nn.Embedding(config.vocab_size, config.n_embd),
            wpe=nn.Embedding(config.block_size, config.n_embd),
            drop=nn.Dropout(config.dropout),
            h=nn.ModuleList([Block(config) for _ in range(config.n_layer)]),
            ln_f=LayerNorm(config.n_embd, bias=config.bias),
        ))
        self.lm_head = nn.Linear(config.n_embd, config.vocab_size, bias=False)
        # with weight tying the token embedding and the output projection share one matrix
        self.transformer.wte.weight = self.lm_head.weight

        # init all weights
        self.apply(self._init_weights)
        # apply special scaled init to the residual projections, per GPT-2 paper
        for pn, p in self.named_parameters():
            if pn.endswith("c_proj.weight"):
                torch.nn.init.normal_(p, mean=0.0, std=0.02 / math.sqrt(2 * config.n_layer))

    def get_num_params(self, non_embedding=True):
        """The number of parameters; the position embeddings are subtracted by default."""
        n_params = sum(p.numel() for p in self.parameters())
        if non_embedding:
            n_params -= self.transformer.wpe.weight.numel()
        return n_params

    def _init_weights(self, module):
        if isinstance(module, nn.Linear):
            torch.nn.init.normal_(module.weight, mean=0.0, std=0.02)
            if module.bias is not None:
                torch.nn.init.zeros_(module.bias)
        elif isinstance(module, nn.Embedding):
            torch.nn.init.normal_(module.weight, mean=0.0, std=0.02)

    def forward(self, idx, targets=None):
        device = idx.device
        b, t = idx.size()
        assert t <= self.config.block_size, \
            f"Cannot forward sequence of length {t}, block size is only {self.config.block_size}"
        pos = torch.arange(0, t, dtype=torch.long, device=device)  # shape (t)

        # forward the GPT model itself
        tok_emb = self.transformer.wte(idx)  # token embeddings of shape (b, t, n_embd)
        pos_emb = self.transformer.wpe(pos)  # position embeddings of shape (t, n_embd)
        x = self.transformer.drop(tok_emb + pos_emb)
        for block in self.transformer.h:
            x = block(x)
        x = self.transformer.ln_f(x)

        if targets is not None:
            # if we are given some desired targets also calculate the loss
            logits = self.lm_head(x)
            loss = F.cross_entropy(logits.view(-1, logits.size(-1)), targets.view(-1),
                                   ignore_index=-1)
        else:
            # inference-time mini-optimization: only forward the lm_head on the very last position
            logits = self.lm_head(x[:, [-1], :])  # note: using list [-1] to preserve the time dim
            loss = None

        return logits, loss

    def configure_optimizers(self, weight_decay, learning_rate, betas, device_type):
        # start with all of the candidate parameters
        param_dict = {pn: p for pn, p in self.named_parameters()}
        # filter out those that do not require grad
        param_dict = {pn: p for pn, p in param_dict.items() if p.requires_grad}
        # any parameter that is 2D will be weight decayed, otherwise no:
        # all weight tensors in matmuls + embeddings decay, all biases and layernorms don't.
        decay_params = [p for n, p in param_dict.items() if p.dim() >= 2]
        nodecay_params = [p for n, p in param_dict.items() if p.dim() < 2]
        optim_groups = [
            {"params": decay_params, "weight_decay": weight_decay},
            {"params": nodecay_params, "weight_decay": 0.0},
        ]
        # use the fused AdamW where it exists and the model is on a GPU
        fused_available = "fused" in inspect.signature(torch.optim.AdamW).parameters
        use_fused = fused_available and device_type == "cuda"
        extra_args = dict(fused=True) if use_fused else dict()
        optimizer = torch.optim.AdamW(optim_groups, lr=learning_rate, betas=betas, **extra_args)
        return optimizer

    @torch.no_grad()
    def generate(self, idx, max_new_tokens, temperature=1.0, top_k=None):
        """Complete the sequence ``idx`` (LongTensor (b, t)) ``max_new_tokens`` times, feeding
        the predictions back; call it in ``model.eval()`` mode."""
        for _ in range(max_new_tokens):
            # if the sequence context is growing too long we must crop it at block_size
            idx_cond = idx if idx.size(1) <= self.config.block_size else idx[:, -self.config.block_size:]
            # forward the model to get the logits for the index in the sequence
            logits, _ = self(idx_cond)
            # pluck the logits at the final step and scale by desired temperature
            logits = logits[:, -1, :] / temperature
            # optionally crop the logits to only the top k options
            if top_k is not None:
                v, _ = torch.topk(logits, min(top_k, logits.size(-1)))
                logits[logits < v[:, [-1]]] = -float("Inf")
            # apply softmax to convert logits to (normalized) probabilities
            probs = F.softmax(logits, dim=-1)
            # sample from the distribution
            idx_next = torch.multinomial(probs, num_samples=1)
            # append sampled index to the running sequence and continue
            idx = torch.cat((idx, idx_next), dim=1)

        return idx


# ----------------------------------------------------------------------------- train.py


def make_text(n_tokens, vocab_size, seed):
    """Synthetic token ids (uint16, as nanoGPT's ``train.bin``): a sparse random Markov chain."""
    successors = np.random.default_rng(12345).integers(0, vocab_size, (vocab_size, 2))
    rng = np.random.default_rng(seed)
    ids = np.empty(n_tokens, dtype=np.uint16)
    ids[0] = 0
    for i in range(1, n_tokens):
        ids[i] = successors[ids[i - 1], rng.integers(2)] if rng.random() > 0.05 \
            else rng.integers(vocab_size)
    return ids


def main(steps=50, out_dir=None, init_from="scratch", batch_size=8, block_size=16, n_layer=2,
         n_head=2, n_embd=32, dropout=0.0, bias=True, flash=False, vocab_size=32,
         learning_rate=1e-2, weight_decay=1e-1, beta1=0.9, beta2=0.99, grad_clip=1.0,
         decay_lr=True, warmup_iters=5, lr_decay_iters=200, min_lr=1e-3, eval_interval=25,
         eval_iters=2, always_save_checkpoint=True, seed=1337, init=None, log=None):
    """Train up to iteration ``steps`` (from 0, or from the checkpoint in ``out_dir``) and
    return the training losses of the iterations run.

    Args:
        steps: the last iteration (nanoGPT's ``max_iters``); a resumed run continues from
            the checkpoint's ``iter_num``.
        out_dir: where ``ckpt.pt`` is written at every evaluation (None: no checkpoint).
        init_from: ``"scratch"`` or ``"resume"`` (from ``out_dir/ckpt.pt``).
        batch_size, block_size, n_layer, n_head, n_embd, dropout, bias, flash, vocab_size:
            the model and its batches (``GPTConfig``).
        learning_rate, weight_decay, beta1, beta2, grad_clip: AdamW and clipping.
        decay_lr, warmup_iters, lr_decay_iters, min_lr: the learning-rate schedule.
        eval_interval, eval_iters: evaluate (and save) every ``eval_interval`` iterations,
            each split on ``eval_iters`` batches.
        always_save_checkpoint: save at every evaluation, not only on a better val loss.
        seed: ``torch.manual_seed`` (initial weights) and the synthetic text.
        init: called with the model right after it is built (to load given weights).
        log: a list that receives ``(iter_num, train_loss, val_loss)`` at every evaluation.
    """
    torch.manual_seed(seed)
    device = "cpu"
    device_type = "cuda" if "cuda" in device else "cpu"
    config = {k: v for k, v in locals().items() if isinstance(v, (int, float, bool, str))}

    train_data = make_text(4000, vocab_size, seed)
    val_data = make_text(1000, vocab_size, seed + 1)

    def get_batch(split, it):
        data = train_data if split == "train" else val_data
        rng = np.random.default_rng([seed, it, int(split == "train")])
        ix = rng.integers(len(data) - block_size, size=batch_size)
        x = torch.stack([torch.from_numpy((data[i:i + block_size]).astype(np.int64)) for i in ix])
        y = torch.stack([torch.from_numpy((data[i + 1:i + 1 + block_size]).astype(np.int64))
                         for i in ix])
        return x.to(device), y.to(device)

    iter_num = 0
    best_val_loss = 1e9
    model_args = dict(n_layer=n_layer, n_head=n_head, n_embd=n_embd, block_size=block_size,
                      bias=bias, vocab_size=vocab_size, dropout=dropout, flash=flash)
    if init_from == "scratch":
        gptconf = GPTConfig(**model_args)
        model = GPT(gptconf)
    elif init_from == "resume":
        ckpt_path = os.path.join(out_dir, "ckpt.pt")
        checkpoint = torch.load(ckpt_path, map_location=device)
        checkpoint_model_args = checkpoint["model_args"]
        # force these config attributes to be equal otherwise we can't even resume training
        for k in ["n_layer", "n_head", "n_embd", "block_size", "bias", "vocab_size"]:
            model_args[k] = checkpoint_model_args[k]
        gptconf = GPTConfig(**model_args)
        model = GPT(gptconf)
        state_dict = checkpoint["model"]
        # fix the keys of the state dictionary of a compiled model
        unwanted_prefix = "_orig_mod."
        for k, _ in list(state_dict.items()):
            if k.startswith(unwanted_prefix):
                state_dict[k[len(unwanted_prefix):]] = state_dict.pop(k)
        model.load_state_dict(state_dict)
        iter_num = checkpoint["iter_num"]
        best_val_loss = checkpoint["best_val_loss"]
    else:
        raise ValueError(f"init_from must be 'scratch' or 'resume', got {init_from!r}")
    if init is not None:
        init(model)
    model.to(device)

    optimizer = model.configure_optimizers(weight_decay, learning_rate, (beta1, beta2), device_type)
    if init_from == "resume":
        optimizer.load_state_dict(checkpoint["optimizer"])
    checkpoint = None  # free up memory

    @torch.no_grad()
    def estimate_loss():
        out = {}
        model.eval()
        for split in ["train", "val"]:
            losses = torch.zeros(eval_iters)
            for k in range(eval_iters):
                X, Y = get_batch(split, 10**6 + k)  # the same evaluation batches every time
                logits, loss = model(X, Y)
                losses[k] = loss.item()
            out[split] = losses.mean()
        model.train()
        return out

    # learning rate decay scheduler (cosine with warmup)
    def get_lr(it):
        # 1) linear warmup for warmup_iters steps
        if it < warmup_iters:
            return learning_rate * (it + 1) / (warmup_iters + 1)
        # 2) if it > lr_decay_iters, return min learning rate
        if it > lr_decay_iters:
            return min_lr
        # 3) in between, use cosine decay down to min learning rate
        decay_ratio = (it - warmup_iters) / (lr_decay_iters - warmup_iters)
        assert 0 <= decay_ratio <= 1
        coeff = 0.5 * (1.0 + math.cos(math.pi * decay_ratio))  # coeff ranges 0..1
        return min_lr + coeff * (learning_rate - min_lr)

    history = []
    while iter_num < steps:
        # determine and set the learning rate for this iteration
        lr = get_lr(iter_num) if decay_lr else learning_rate
        for param_group in optimizer.param_groups:
            param_group["lr"] = lr

        # evaluate the loss on train/val sets and write checkpoints
        if iter_num % eval_interval == 0 and iter_num > 0:
            losses = estimate_loss()
            if log is not None:
                log.append((iter_num, losses["train"].item(), losses["val"].item()))
            if losses["val"] < best_val_loss or always_save_checkpoint:
                best_val_loss = losses["val"]
                if out_dir is not None:
                    checkpoint = {
                        "model": model.state_dict(),
                        "optimizer": optimizer.state_dict(),
                        "model_args": model_args,
                        "iter_num": iter_num,
                        "best_val_loss": best_val_loss,
                        "config": config,
                    }
                    torch.save(checkpoint, os.path.join(out_dir, "ckpt.pt"))

        X, Y = get_batch("train", iter_num)
        logits, loss = model(X, Y)
        loss.backward()
        # clip the gradient
        if grad_clip != 0.0:
            torch.nn.utils.clip_grad_norm_(model.parameters(), grad_clip)
        optimizer.step()
        # flush the gradients as soon as we can, no need for this memory anymore
        optimizer.zero_grad(set_to_none=True)
        history.append(loss.item())
        iter_num += 1
    return history


def sample(model, start, max_new_tokens=10, temperature=1.0, top_k=5, seed=1337):
    """Continue ``start`` (a list of token ids) with ``model.generate``."""
    torch.manual_seed(seed)
    model.eval()
    x = torch.tensor(start, dtype=torch.long)[None, ...]
    with torch.no_grad():
        y = model.generate(x, max_new_tokens, temperature=temperature, top_k=top_k)
    return y[0].tolist()


if __name__ == "__main__":
    history = main(60)
    print(f"loss {history[0]:.4f} -> {history[-1]:.4f}")
    model = GPT(GPTConfig())
    print("sample:", sample(model, [0, 1, 2]))
