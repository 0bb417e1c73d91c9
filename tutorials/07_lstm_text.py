# %% [markdown]
# # 7. Text classification with an LSTM
#
# **What you will build.** A classifier that reads a paragraph of Python's own
# documentation word by word and tells which part of the documentation it comes
# from: *statements*, *expressions*, the *data model* or the *built-in types*.
# On the way: a tokeniser and a vocabulary, word embeddings
# (`nn.Embedding(padding_idx=0)`), the LSTM's gate equations written in NumPy and
# checked against `nn.LSTM`, padding a batch of paragraphs of different lengths
# and masking the padding out, and a look at the gates while the trained network
# reads a paragraph.
#
# The text ships with Python: `pydoc_data.topics.topics` is the dict of
# documentation topics that `help("assert")` prints, so the chapter runs offline.

# %%
import collections
import re
from pydoc_data.topics import topics

import numpy as np
from _common import FAST, fast_or_full, plt, save_figure, seed

import minigrad as mg
import minigrad.nn as nn
import minigrad.nn.functional as F
from minigrad import metrics
from minigrad.data import DataLoader, TensorDataset

rng = seed(0)
print("fast mode" if FAST else "full mode")

# %% [markdown]
# ## The data: paragraphs of the Python documentation
#
# Each pydoc topic is one section of the documentation. The sections come from a
# few chapters of the Language Reference and the Library Reference, which gives
# four families, the classes to predict:
#
# | class | where the topics come from |
# | --- | --- |
# | statements | Language Reference: simple and compound statements |
# | expressions | Language Reference: expressions and lexical analysis (literals, identifiers) |
# | data model | Language Reference: data model (special methods) and execution model |
# | built-in types | Library Reference: built-in types, string methods, format strings |
#
# (The `debugger` topic, from the `pdb` module, is left out.) A sample is one
# paragraph: the text between blank lines. Some sections are contained in
# others (the topic `compound` holds the text of `if`, `while`, `for`...), so
# paragraphs are de-duplicated *before* the split into training and test sets:
# otherwise the test set would contain training paragraphs.

# %%
FAMILIES = {
    "statements": "assert assignment async augassign break class compound continue del else for "
                  "function global if import nonlocal pass raise return try while with yield",
    "expressions": "atom-identifiers atom-literals attribute-references await binary bitwise "
                   "booleans calls comparisons conversions exprlists floating id-classes "
                   "identifiers imaginary in integers lambda numbers operator-summary power "
                   "shifting slicings strings subscriptions unary",
    "data model": "attribute-access callable-types context-managers customization dynamic-features "
                  "exceptions execmodel naming numeric-types objects sequence-types specialnames "
                  "types",
    "built-in types": "bltin-code-objects bltin-ellipsis-object bltin-null-object bltin-type-objects "
                      "dict formatstrings lists specialattrs string-methods truth typesfunctions "
                      "typesmapping typesmethods typesmodules typesseq typesseq-mutable",
}
CLASSES = list(FAMILIES)
family_of = {topic: k for k, name in enumerate(CLASSES) for topic in FAMILIES[name].split()}


def documentation_paragraphs(min_words=8):
    """Unique paragraphs of the pydoc topics with their family; paragraphs seen in two families are dropped."""
    families = {}
    for topic in sorted(topics):
        if topic not in family_of:
            continue
        for paragraph in re.split(r"\n\s*\n", topics[topic]):
            text = " ".join(paragraph.split())
            if len(text.split()) >= min_words and not re.fullmatch(r"[*=+|\- ]+", text):
                families.setdefault(text, set()).add(family_of[topic])
    texts = [t for t, f in families.items() if len(f) == 1]
    return texts, np.array([families[t].pop() for t in texts])


texts, labels = documentation_paragraphs()
order = rng.permutation(len(texts))
n_test = len(texts) // 5
test_idx, train_idx = order[:n_test], order[n_test:]
train_idx = train_idx[: fast_or_full(600, len(train_idx))]
print(f"{len(texts)} paragraphs: {len(train_idx)} for training, {len(test_idx)} for testing")
for k, name in enumerate(CLASSES):
    print(f"  {name:15s} {np.sum(labels == k):4d}")
print("\nan example:", CLASSES[labels[0]], "|", texts[0][:200], "...")

# %% [markdown]
# ## Tokens and a vocabulary
#
# The network sees integers, not strings. The **tokeniser** cuts the lower-cased
# text into words (identifiers such as `__init__` stay one word), numbers and
# single punctuation marks. The **vocabulary** numbers the tokens that occur at
# least twice in the *training* paragraphs, most frequent first. Two entries are
# reserved: `<pad>` = 0 fills the end of short sequences in a batch, and
# `<unk>` = 1 stands for every word not in the vocabulary (rare words, and words
# seen only in the test set: the model must not learn anything from those).

# %%
PAD, UNK = 0, 1
TOKEN = re.compile(r"[a-z_]+|\d+|[^\sa-z_\d]")


def tokenize(text):
    return TOKEN.findall(text.lower())


def build_vocabulary(token_lists, min_count=2):
    counts = collections.Counter(tok for tokens in token_lists for tok in tokens)
    return ["<pad>", "<unk>"] + [tok for tok, c in counts.most_common() if c >= min_count]


def encode(tokens, index, max_len):
    """Token ids of the first ``max_len`` tokens (unknown words -> UNK)."""
    return [index.get(tok, UNK) for tok in tokens[:max_len]]


tokens = [tokenize(t) for t in texts]
vocab = build_vocabulary(tokens[i] for i in train_idx)
word_index = {w: i for i, w in enumerate(vocab)}
print(f"vocabulary: {len(vocab)} tokens; most frequent: {vocab[2:14]}")
print("tokens :", tokens[0][:12])
print("ids    :", encode(tokens[0], word_index, 12))

# %% [markdown]
# ## Padding
#
# Paragraphs have different lengths, but a batch is one rectangular array. So the
# sequences are cut to at most `MAX_LEN` tokens and the short ones are filled
# with `<pad>` at the end. Each sample keeps its true length $T_n$, and each
# batch is trimmed to its own longest sequence, so the LSTM does not run over
# columns that are padding in every row.

# %%
MAX_LEN = fast_or_full(32, 64)


def pad_sequences(id_lists, max_len):
    """(N, max_len) int64 array of ids padded with PAD, and the true lengths (N,)."""
    out = np.full((len(id_lists), max_len), PAD, dtype=np.int64)
    lengths = np.array([len(ids) for ids in id_lists], dtype=np.int64)
    for row, ids in enumerate(id_lists):
        out[row, : len(ids)] = ids
    return out, lengths


ids, lengths = pad_sequences([encode(t, word_index, MAX_LEN) for t in tokens], MAX_LEN)
train_set = TensorDataset(ids[train_idx], lengths[train_idx], labels[train_idx])
test_ids, test_lengths, test_labels = ids[test_idx], lengths[test_idx], labels[test_idx]


def trim(tokens, lengths):
    """Cut a padded batch to its longest sequence."""
    return tokens[:, : int(lengths.max())], lengths


all_lengths = np.array([len(t) for t in tokens])
example_batch = ids[train_idx[:16]]
fig, (left, right) = plt.subplots(1, 2, figsize=(11, 3.6))
left.hist(all_lengths, bins=np.arange(0, 200, 5), color="C0")
left.axvline(MAX_LEN, color="k", ls="--", label=f"MAX_LEN = {MAX_LEN}")
left.set(xlabel="tokens per paragraph", ylabel="paragraphs", title="paragraph lengths")
left.legend()
right.imshow(example_batch > PAD, cmap="Greys", aspect="auto", interpolation="nearest")
right.set(xlabel="position t", ylabel="sample n", title="a padded batch: black = token, white = <pad>")
save_figure(fig, "07_padding")
print(f"median length {np.median(all_lengths):.0f} tokens; "
      f"{np.mean(all_lengths > MAX_LEN):.0%} of the paragraphs are cut to {MAX_LEN}")

# %% [markdown]
# ## Embeddings
#
# An [embedding](../math/attention.md#embedding) is a table $E$ with one learned
# row per token: token $k$ becomes the vector $E_{k,:}$ of size $d$. Looking up a
# row is the same as multiplying a one-hot vector by $E$, so its gradient adds
# the upstream gradients of every occurrence of the token into that row.
# `nn.Embedding(len(vocab), d, padding_idx=0)` starts the `<pad>` row at zero and
# never updates it: padding carries no information and receives no gradient.
# In minigrad this backward is `EmbeddingLookup.backward` in
# `minigrad/ops/embedding.py`.
#
# ## The LSTM equations
#
# A recurrent network reads $x_1, x_2, \dots$ one step at a time and carries a
# state from step to step. The LSTM (Hochreiter & Schmidhuber, 1997, with the
# forget gate of Gers, Schmidhuber & Cummins, 2000) carries two: a cell state
# $c_t$ (the memory) and a hidden state $h_t$ (the output). Three gates with values
# in $(0, 1)$ decide what to write, keep and show
# ([the equations in the Math reference](../math/recurrent.md#lstm)):
#
# $$\begin{aligned}
# i_t &= \sigma(W_{ii} x_t + b_{ii} + W_{hi} h_{t-1} + b_{hi}) &&\text{input gate: how much to write}\\
# f_t &= \sigma(W_{if} x_t + b_{if} + W_{hf} h_{t-1} + b_{hf}) &&\text{forget gate: how much to keep}\\
# g_t &= \tanh(W_{ig} x_t + b_{ig} + W_{hg} h_{t-1} + b_{hg}) &&\text{candidate: what to write}\\
# o_t &= \sigma(W_{io} x_t + b_{io} + W_{ho} h_{t-1} + b_{ho}) &&\text{output gate: how much to show}\\
# c_t &= f_t \odot c_{t-1} + i_t \odot g_t \\
# h_t &= o_t \odot \tanh(c_t)
# \end{aligned}$$
#
# The cell update is a *sum*, so $\partial c_t/\partial c_{t-1} = f_t$: as long
# as the forget gate stays near 1, the gradient crosses many steps without being
# multiplied by a weight matrix at every step, which is what makes a plain RNN's
# gradients vanish or explode. `nn.LSTM` stacks the four gates' weights in the
# order $(i, f, g, o)$: `weight_ih_l0` is $(4H, d)$ and `weight_hh_l0` is $(4H, H)$.
# In minigrad the backward through time is `LSTMRecurrence.backward` in
# `minigrad/ops/rnn.py` (one step's gate derivatives: `lstm_gates_backward`, same file).
#
# Here are the equations in NumPy, one step at a time, run on an untrained
# `nn.LSTM`'s own weights: they must give the same $h_t$ as the layer.

# %%
def lstm_by_hand(x, w_ih, w_hh, b_ih, b_hh):
    """Run the LSTM equations over x (T, d); returns each of i, f, g, o, c, h as a (T, H) array."""
    sigmoid = lambda z: 1 / (1 + np.exp(-z))  # noqa: E731
    hidden = w_hh.shape[1]
    h, c = np.zeros(hidden), np.zeros(hidden)
    steps = collections.defaultdict(list)
    for x_t in x:
        i, f, g, o = np.split(w_ih @ x_t + b_ih + w_hh @ h + b_hh, 4)
        i, f, g, o = sigmoid(i), sigmoid(f), np.tanh(g), sigmoid(o)
        c = f * c + i * g
        h = o * np.tanh(c)
        for name, value in zip("ifgoch", (i, f, g, o, c, h)):
            steps[name].append(value)
    return {name: np.array(values) for name, values in steps.items()}


def lstm_weights(lstm):
    return [getattr(lstm, name).numpy().astype(np.float64)
            for name in ("weight_ih_l0", "weight_hh_l0", "bias_ih_l0", "bias_hh_l0")]


probe = nn.LSTM(input_size=5, hidden_size=3, batch_first=True)
x_probe = rng.standard_normal((7, 5))
h_layer, (h_n, c_n) = probe(mg.tensor(x_probe[None], dtype=mg.float32))
by_hand = lstm_by_hand(x_probe, *lstm_weights(probe))
gap_untrained = np.abs(by_hand["h"] - h_layer.numpy()[0]).max()
print("h_t from nn.LSTM  :", np.round(h_layer.numpy()[0, -1], 5))
print("h_t by hand       :", np.round(by_hand["h"][-1], 5))
print(f"largest difference over all steps: {gap_untrained:.1e}")

# %% [markdown]
# ## Reading out a padded batch: last step or masked mean
#
# The LSTM returns $h_t$ for every position of the padded batch, padding
# included: after the end of a short sequence it simply keeps reading `<pad>`
# vectors. Because it reads left to right, the steps *before* the padding are
# exactly those of the sequence alone; what comes after must not be used. Two
# ways to turn the steps into one vector per sample:
#
# * **last step**: $h_{T_n}$, the state at the sequence's *true* last token
#   (what PyTorch's `pack_padded_sequence` gives);
# * **masked mean**: $\bar h_n = \frac{1}{T_n}\sum_{t=1}^{T_n} h_t$, with a mask
#   $m_{n,t} = [t \le T_n]$ that zeroes the padded steps.
#
# A linear layer maps that vector to four logits, and the loss is the
# [cross-entropy](../math/losses.md#cross-entropy-with-label-smoothing) of the
# softmax over the classes.

# %%
def last_step(h, lengths):
    """h (N, T, H) -> (N, H): each sequence's state at its true last token."""
    return h[np.arange(len(lengths)), lengths - 1]


def masked_mean(h, lengths):
    """h (N, T, H) -> (N, H): the mean of h_t over the steps t < length (padding masked out)."""
    mask = (np.arange(h.shape[1])[None, :] < lengths[:, None]).astype(h.dtype)
    total = (h * mg.tensor(mask[:, :, None])).sum(dim=1)
    return total / mg.tensor(lengths[:, None].astype(h.dtype))


READOUTS = {"last step": last_step, "masked mean": masked_mean}


class DocClassifier(nn.Module):
    """Embedding -> LSTM -> readout over the valid steps -> Linear to class logits."""

    def __init__(self, vocab_size, embed_dim, hidden_size, num_classes, readout, dropout=0.3):
        super().__init__()
        self.readout = READOUTS[readout]
        self.embed = nn.Embedding(vocab_size, embed_dim, padding_idx=PAD)
        self.lstm = nn.LSTM(embed_dim, hidden_size, batch_first=True)
        self.dropout = nn.Dropout(dropout)
        self.head = nn.Linear(hidden_size, num_classes)

    def forward(self, tokens, lengths):
        h, _ = self.lstm(self.dropout(self.embed(tokens)))
        return self.head(self.dropout(self.readout(h, lengths)))


# %% [markdown]
# Check on three paragraphs of different lengths: padded together in one batch,
# each one's state at its true last step equals the state when it is run alone,
# while the state at the padded end of the row has drifted away from it.

# %%
check = DocClassifier(len(vocab), 16, 8, len(CLASSES), "last step").eval()
rows = test_idx[np.argsort(test_lengths)[[0, len(test_idx) // 2, -1]]]
batch_tokens, batch_lengths = trim(ids[rows], lengths[rows])
with mg.no_grad():
    h_batch, _ = check.lstm(check.embed(mg.tensor(batch_tokens)))
    last_in_batch = last_step(h_batch, batch_lengths).numpy()
    alone = [check.lstm(check.embed(mg.tensor(ids[r : r + 1, : lengths[r]])))[0].numpy()[0, -1]
             for r in rows]
padding_gap = np.abs(last_in_batch - np.array(alone)).max()
drift = np.abs(h_batch.numpy()[0, -1] - alone[0]).max()
print(f"lengths {batch_lengths.tolist()}: |batched - alone| at the true last step = {padding_gap:.1e}")
print(f"shortest sequence, state at the padded end vs its true last step: {drift:.3f}")

# %% [markdown]
# ## Training
#
# Both readouts, same model otherwise: embeddings of size 64, an LSTM with 128
# hidden units (32 and 32 in fast mode), dropout (Srivastava et al., 2014) on the embeddings and before the
# last layer, [Adam](../math/optimizers.md#adam) with learning rate $3\cdot10^{-3}$.
# Recurrent networks occasionally produce a huge gradient (a long product of
# Jacobians), so the gradient norm is clipped to 1 before every step (Pascanu,
# Mikolov & Bengio, 2013). The baseline to beat is the **majority class**: always
# answering the most frequent training class.

# %%
EMBED, HIDDEN = fast_or_full(32, 64), fast_or_full(32, 128)
EPOCHS = fast_or_full(5, 15)
majority_class = np.bincount(labels[train_idx]).argmax()
baseline = metrics.accuracy(test_labels, np.full(len(test_labels), majority_class))
print(f"majority-class baseline ({CLASSES[majority_class]}): test accuracy {baseline:.3f}")


def predict(model, tokens, lengths, batch_size=256):
    model.eval()
    with mg.no_grad():
        logits = [model(*trim(mg.tensor(tokens[k : k + batch_size]), lengths[k : k + batch_size]))
                  .numpy() for k in range(0, len(tokens), batch_size)]
    return np.concatenate(logits).argmax(axis=1)


def train(readout, epochs):
    mg.manual_seed(0)
    model = DocClassifier(len(vocab), EMBED, HIDDEN, len(CLASSES), readout)
    optimizer = mg.optim.Adam(model.parameters(), lr=3e-3)
    loader = DataLoader(train_set, batch_size=32, shuffle=True, seed=0)
    history = {"loss": [], "accuracy": []}
    for _ in range(epochs):
        model.train()
        total = 0.0
        for tokens, lens, targets in loader:
            lens = lens.numpy()
            loss = F.cross_entropy(model(*trim(tokens, lens)), targets)
            optimizer.zero_grad()
            loss.backward()
            nn.utils.clip_grad_norm_(model.parameters(), max_norm=1.0)
            optimizer.step()
            total += loss.item() * len(lens)
        history["loss"].append(total / len(train_set))
        history["accuracy"].append(metrics.accuracy(test_labels, predict(model, test_ids, test_lengths)))
    return model, history


models, histories = {}, {}
for readout in READOUTS:
    models[readout], histories[readout] = train(readout, EPOCHS)
    print(f"{readout:12s}: final training loss {histories[readout]['loss'][-1]:.3f}, "
          f"test accuracy {histories[readout]['accuracy'][-1]:.3f}")

# %%
model = models["masked mean"]
predictions = predict(model, test_ids, test_lengths)
confusion = metrics.confusion_matrix(test_labels, predictions, num_classes=len(CLASSES))

fig, (left, middle, right) = plt.subplots(1, 3, figsize=(15, 3.8))
fig.subplots_adjust(wspace=0.45)  # room for the class names of the confusion matrix
epochs_axis = np.arange(1, EPOCHS + 1)
for readout, history in histories.items():
    left.plot(epochs_axis, history["loss"], "o-", label=readout)
    middle.plot(epochs_axis, history["accuracy"], "o-", label=readout)
middle.axhline(baseline, color="k", ls=":", label="majority class")
left.set(xlabel="epoch", ylabel="cross-entropy", title="training loss")
middle.set(xlabel="epoch", ylabel="accuracy", title="test accuracy", ylim=(0, 1))
left.legend()
middle.legend()
right.imshow(confusion, cmap="Blues")
for (r, c), count in np.ndenumerate(confusion):
    right.text(c, r, count, ha="center", va="center", color="w" if count > confusion.max() / 2 else "k")
right.set(xticks=range(len(CLASSES)), yticks=range(len(CLASSES)), xlabel="predicted",
          ylabel="true", title="confusion (masked mean)")
right.set_xticklabels(CLASSES, rotation=30, ha="right")
right.set_yticklabels(CLASSES)
save_figure(fig, "07_training")
print(metrics.classification_report(test_labels, predictions, target_names=CLASSES))

# %% [markdown]
# In full mode (15 epochs on 1088 paragraphs) the masked mean reaches a test
# accuracy of about 0.72 and the last step about 0.64, against 0.24 for the
# majority class. With the last step alone, the whole paragraph
# must survive in $(h_{T_n}, c_{T_n})$ through up to 64 steps, and the gradient
# reaches the first words only through that long chain; the mean gives every
# step a direct path to the loss. (Real systems often combine both, or let an
# attention layer choose the steps: chapter 8.)
#
# ## Inside the trained LSTM
#
# `lstm_by_hand` on the trained weights gives every gate at every step. Below,
# for one test paragraph, the hidden state $h_t$ and the forget and input gates of
# the 24 units whose $h_t$ varies most along the paragraph: a unit whose forget
# gate stays near 1 keeps its memory over the whole paragraph, an input gate
# near 1 writes the current word into the cell.

# %%
row = int(np.flatnonzero((predictions == test_labels) & (test_lengths >= 24))[0])
n_steps = int(test_lengths[row])
words = [vocab[k] for k in test_ids[row, :n_steps]]
embedded = model.embed.weight.numpy().astype(np.float64)[test_ids[row, :n_steps]]
inside = lstm_by_hand(embedded, *lstm_weights(model.lstm))
with mg.no_grad():
    h_trained, _ = model.lstm(model.embed(mg.tensor(test_ids[row : row + 1, :n_steps])))
gap_trained = np.abs(inside["h"] - h_trained.numpy()[0]).max()
units = np.argsort(inside["h"].std(axis=0))[-24:]

fig, axes = plt.subplots(3, 1, figsize=(12, 8), sharex=True)
for ax, name, cmap, limits in zip(axes, ("h", "f", "i"), ("coolwarm", "viridis", "viridis"),
                                  ((-1, 1), (0, 1), (0, 1))):
    image = ax.imshow(inside[name][:, units].T, aspect="auto", cmap=cmap, vmin=limits[0],
                      vmax=limits[1], interpolation="nearest")
    ax.set_ylabel("unit")
    ax.set_title({"h": "hidden state $h_t$", "f": "forget gate $f_t$", "i": "input gate $i_t$"}[name])
    fig.colorbar(image, ax=ax, pad=0.01)
axes[-1].set_xticks(range(n_steps))
axes[-1].set_xticklabels(words, rotation=90, fontsize=7)
fig.suptitle(f"reading a '{CLASSES[test_labels[row]]}' paragraph")
save_figure(fig, "07_gates")
print(" ".join(words))
print(f"mean forget gate {inside['f'].mean():.2f}, mean input gate {inside['i'].mean():.2f}; "
      f"by hand vs nn.LSTM: {gap_trained:.1e}")

# %% [markdown]
# ## Exercises
#
# **Exercise 1.** Make the LSTM bidirectional (`nn.LSTM(..., bidirectional=True)`, head input
# `2 * HIDDEN`). Does the last-step readout improve?
#
# <details markdown="1"><summary>Hint</summary>
#
# The output concatenates both directions. For the backward direction the
# state that has read the whole sequence is at $t = 1$, not $t = T_n$; and it
# has read the padding first, so take it from a batch of equal-length
# sequences, or use the masked mean, which needs no change.
#
# </details>
#
# **Exercise 2.** How much does word order matter? Replace the LSTM by the masked mean of the
# embeddings themselves (a "bag of embeddings") and compare the test accuracy.
#
# <details markdown="1"><summary>Hint</summary>
#
# `masked_mean(self.embed(tokens), lengths)` then the linear layer, with
# `nn.Linear(EMBED, len(CLASSES))`. Also try scikit-learn's `TfidfVectorizer`
# (with `tokenizer=tokenize`) and `LogisticRegression`: on this split it
# reaches about 0.77, a strong baseline for short texts.
#
# </details>
#
# **Exercise 3.** Set the forget gate's bias to 1 at initialisation (Jozefowicz et al., 2015) and
# train the last-step model again.
#
# <details markdown="1"><summary>Hint</summary>
#
# The forget gate's rows are `H:2H` of `bias_ih_l0` (order $i, f, g, o$):
# `model.lstm.bias_ih_l0.data[HIDDEN:2 * HIDDEN] = 1.0` right after building
# the model. $f_t$ then starts near $\sigma(1) \approx 0.73$ instead of 0.5.
#
# </details>

# %% [markdown]
# ## What this chapter showed (checked when it runs)

# %%
assert gap_untrained < 1e-5 and gap_trained < 1e-4, "the gate equations are what nn.LSTM computes"
assert padding_gap < 1e-5 < drift, "padding does not change the states before it, only after"
assert np.all(model.embed.weight.numpy()[PAD] == 0), "the <pad> row got no gradient"
for history in histories.values():
    assert history["loss"][-1] < fast_or_full(0.95, 0.5) * history["loss"][0], "training lowers the loss"
accuracy_mean = histories["masked mean"]["accuracy"][-1]
accuracy_last = histories["last step"]["accuracy"][-1]
# full mode: above 0.65 for the masked mean (measured 0.72; majority baseline 0.24), last step
# 0.15 above the baseline (measured 0.64)
assert accuracy_mean > fast_or_full(baseline, 0.65), (accuracy_mean, baseline)
assert accuracy_last > baseline + fast_or_full(-0.1, 0.15), (accuracy_last, baseline)
assert accuracy_mean > accuracy_last - fast_or_full(0.1, 0.0)
print(f"chapter 7: all checks passed (test accuracy {accuracy_mean:.3f}, baseline {baseline:.3f})")
