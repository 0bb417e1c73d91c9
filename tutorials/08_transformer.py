# %% [markdown]
# # 8. A Transformer that writes like the Python docs
#
# **What you will build.** Self-attention from its formula, checked against
# minigrad's fused `F.scaled_dot_product_attention`; the causal mask that stops
# a position from looking ahead; the sinusoidal positional encoding; multi-head
# attention rebuilt by hand from `nn.MultiheadAttention`'s weights; and then a
# small character-level, decoder-only Transformer (`nn.TransformerLM`, in the
# style of GPT) trained on the text of Python's documentation topics. You will
# read what it writes before and after training, and look at its attention.
#
# The text ships with Python (`pydoc_data.topics.topics`, what `help("with")`
# prints), so the chapter runs offline.

# %%
import math
import re
import time
from pydoc_data.topics import topics

import numpy as np
from _common import FAST, fast_or_full, plt, save_figure, seed

import minigrad as mg
import minigrad.nn as nn
import minigrad.nn.functional as F

rng = seed(0)
print("fast mode" if FAST else "full mode")

# %% [markdown]
# ## Self-attention
#
# A sequence of $L$ vectors $x_1, \dots, x_L$ (the rows of $X$) is projected three
# times, into queries $Q = XW_Q$, keys $K = XW_K$ and values $V = XW_V$. Output
# $i$ is an average of the values, weighted by how well query $i$ matches each key
# ([scaled dot-product attention](../math/attention.md#scaled-dot-product-attention),
# Vaswani et al., 2017):
#
# $$\operatorname{Attention}(Q, K, V) = \operatorname{softmax}\!\Big(\frac{QK^\top}{\sqrt d}\Big)V,$$
#
# with the softmax taken over each row (over the keys). Why $\sqrt d$: if the
# entries of $q$ and $k$ are independent with variance 1, the dot product
# $q \cdot k$ is a sum of $d$ such products and has variance $d$. Large scores
# push the softmax into a corner where one weight is 1, the others 0 and the
# gradient almost 0; dividing by $\sqrt d$ brings the variance back to 1.
#
# First the formula with minigrad's basic ops, then the fused op: same values,
# same gradients. In minigrad the fused op's backward is
# `ScaledDotProductAttention.backward` in `minigrad/ops/attention.py`; the version
# by hand goes through `Softmax.backward` in `minigrad/ops/reduce.py` and
# `MatMul.backward` in `minigrad/ops/linalg.py`.

# %%
def attention_by_hand(q, k, v, mask=None):
    """softmax(Q Kᵀ / √d + mask) V from matmul and softmax; ``mask`` is 0 or -inf."""
    scores = q @ k.transpose(-2, -1) / math.sqrt(q.shape[-1])
    if mask is not None:
        scores = scores + mask
    return scores.softmax(dim=-1) @ v


length, d = 6, 8
q, k, v = (mg.randn(length, d, dtype=mg.float64, requires_grad=True) for _ in range(3))
upstream = mg.randn(length, d, dtype=mg.float64)

attention_by_hand(q, k, v).backward(upstream)
grads_by_hand = [t.grad.numpy().copy() for t in (q, k, v)]
for t in (q, k, v):
    t.grad = None
fused = F.scaled_dot_product_attention(q, k, v)
fused.backward(upstream)
value_gap = np.abs(fused.numpy() - attention_by_hand(q, k, v).numpy()).max()
grad_gap = max(np.abs(t.grad.numpy() - g).max() for t, g in zip((q, k, v), grads_by_hand))
print(f"by hand vs fused: outputs differ by {value_gap:.1e}, gradients by {grad_gap:.1e}")

x_scale = rng.standard_normal((2000, 64))
dots = np.sum(x_scale[:1000] * x_scale[1000:], axis=1)
print(f"d = 64: std of q.k is {dots.std():.1f}, of q.k/sqrt(d) {dots.std() / 8:.2f}")

# %% [markdown]
# ## The causal mask
#
# A language model predicts character $t+1$ from characters $1..t$. Trained on
# whole sequences at once, it must not peek: position $i$ may attend only to
# positions $j \le i$. Adding a mask $M$ to the scores before the softmax does it,
#
# $$M_{ij} = \begin{cases} 0 & j \le i \\ -\infty & j > i \end{cases}
#   \qquad\Rightarrow\qquad e^{-\infty} = 0 \text{ weight on the future.}$$
#
# `is_causal=True` builds this mask inside the fused op. One forward pass then
# gives $L$ training examples: the prediction at every position.

# %%
causal_mask = np.where(np.tril(np.ones((length, length), dtype=bool)), 0.0, -np.inf)
masked_by_hand = attention_by_hand(q, k, v, mg.tensor(causal_mask, dtype=mg.float64))
masked_fused = F.scaled_dot_product_attention(q, k, v, is_causal=True)
causal_gap = np.abs(masked_by_hand.numpy() - masked_fused.numpy()).max()
with mg.no_grad():
    causal_weights = ((q @ k.transpose(-2, -1)) / math.sqrt(d) + mg.tensor(causal_mask)).softmax(dim=-1)
print(f"causal: by hand vs is_causal=True differ by {causal_gap:.1e}")

fig, (left, right) = plt.subplots(1, 2, figsize=(9, 3.8))
left.imshow(np.tril(np.ones((length, length))), cmap="Greys", vmin=0, vmax=1.5)
left.set(title="causal mask: query i may see key j (dark)", xlabel="key j", ylabel="query i")
image = right.imshow(causal_weights.numpy(), cmap="viridis", vmin=0, vmax=1)
right.set(title="attention weights: each row sums to 1", xlabel="key j", ylabel="query i")
fig.colorbar(image, ax=right)
save_figure(fig, "08_causal_mask")

# %% [markdown]
# ## Positional encoding
#
# Attention is a weighted *average*: permute the keys and values and the output
# does not change. Order has to be written into the vectors. Vaswani et al.
# (2017) add to the vector at position $p$ a fixed code of sines and cosines at
# geometrically spaced frequencies
# ([sinusoidal positional encoding](../math/attention.md#sinusoidal-positional-encoding)):
#
# $$PE_{p,\,2i} = \sin\!\Big(\frac{p}{10000^{2i/d}}\Big), \qquad
#   PE_{p,\,2i+1} = \cos\!\Big(\frac{p}{10000^{2i/d}}\Big).$$
#
# Each pair $(2i, 2i+1)$ is a point turning on a circle at its own speed, so
# moving $k$ positions is a fixed rotation of every pair: a linear map that
# attention can learn, the same for every $p$. The dot product
# $PE_p \cdot PE_{p'}$ depends only on $p - p'$. `nn.PositionalEncoding` adds
# this table; `nn.TransformerLM`, like GPT-2, *learns* its position vectors
# instead (`nn.LearnedPositionalEmbedding`).

# %%
def sinusoidal(max_len, d_model):
    position = np.arange(max_len)[:, None]
    frequency = 1 / 10000 ** (np.arange(0, d_model, 2) / d_model)
    table = np.zeros((max_len, d_model))
    table[:, 0::2] = np.sin(position * frequency)
    table[:, 1::2] = np.cos(position * frequency)
    return table


pe_table = sinusoidal(128, 64)
pe_module = nn.PositionalEncoding(d_model=64, max_len=128)
pe_gap = np.abs(pe_module(mg.zeros(1, 128, 64)).numpy()[0] - pe_table).max()
similarity = pe_table @ pe_table.T
shift_gap = np.abs(np.diag(similarity, 5)[:-40] - similarity[0, 5]).max()
print(f"formula vs nn.PositionalEncoding: {pe_gap:.1e}; PE_p . PE_(p+5) varies by {shift_gap:.1e} over p")

fig, axes = plt.subplots(1, 3, figsize=(14, 3.8))
axes[0].imshow(pe_table.T, aspect="auto", cmap="coolwarm")
axes[0].set(xlabel="position p", ylabel="dimension", title="the table $PE_{p, j}$")
for j in (0, 2, 10, 30):
    axes[1].plot(pe_table[:, j], label=f"dim {j}")
axes[1].set(xlabel="position p", title="each dimension is a wave", ylim=(-1.2, 1.6))
axes[1].legend(ncol=2, fontsize=8)
axes[2].imshow(similarity, cmap="viridis")
axes[2].set(xlabel="position p'", ylabel="position p", title="$PE_p \\cdot PE_{p'}$: depends on p - p'")
save_figure(fig, "08_positional_encoding")

# %% [markdown]
# ## Multi-head attention
#
# One softmax gives one way of mixing the positions. [Multi-head
# attention](../math/attention.md#multi-head-attention) runs $h$ attentions side
# by side, each on its own projections of size $d/h$, and mixes their outputs
# with $W_O$:
#
# $$\operatorname{MultiHead}(X) = \operatorname{Concat}(\text{head}_1, \dots, \text{head}_h)\,W_O,
#   \qquad \text{head}_i = \operatorname{Attention}(XW_Q^{(i)}, XW_K^{(i)}, XW_V^{(i)}).$$
#
# The cost is that of one head of full size; in exchange one head can follow,
# say, the previous character while another looks for the opening quote.
# `nn.MultiheadAttention` keeps PyTorch's parameters: `in_proj_weight` stacks
# $[W_Q; W_K; W_V]$ (each $(d, d)$, applied as $xW^\top$) and `out_proj` is $W_O$.
# It also keeps PyTorch's default input layout, sequence first, $(L, N, d)$;
# `batch_first=True` makes it $(N, L, d)$, the layout of this chapter.
# Rebuilt by hand:

# %%
def split_heads(t, heads):
    """(N, L, d) -> (N, heads, L, d / heads)."""
    n, length, dim = t.shape
    return t.reshape(n, length, heads, dim // heads).transpose(1, 2)


def project(mha, x, which):
    """x W_which^T + b_which for which = 0 (queries), 1 (keys), 2 (values), split into heads."""
    dim = x.shape[-1]
    w = mha.in_proj_weight.split(dim, dim=0)[which]
    b = mha.in_proj_bias.split(dim, dim=0)[which]
    return split_heads(x @ w.T + b, mha.num_heads)


def causal(length):
    return mg.tensor(np.where(np.tril(np.ones((length, length), dtype=bool)), 0.0, -np.inf))


def multihead_by_hand(mha, x):
    """Causal multi-head self-attention of x (N, L, d) from nn.MultiheadAttention's weights."""
    n, length, dim = x.shape
    q, k, v = (project(mha, x, which) for which in range(3))
    heads = attention_by_hand(q, k, v, causal(length))  # (N, h, L, d/h)
    return mha.out_proj(heads.transpose(1, 2).reshape(n, length, dim))


mha = nn.MultiheadAttention(embed_dim=16, num_heads=4, batch_first=True)
x_mha = mg.randn(2, 5, 16)
library_out, _ = mha(x_mha, x_mha, x_mha, is_causal=True)
mha_gap = np.abs(library_out.numpy() - multihead_by_hand(mha, x_mha).numpy()).max()
print(f"nn.MultiheadAttention vs by hand: {mha_gap:.1e}")

# %% [markdown]
# ## The data: the Python documentation, character by character
#
# All the pydoc topics, with the lines that only underline a heading (`*****`,
# `=====`) removed and repeated paragraphs (the topic `compound` contains `if`,
# `while`...) kept once. Nine paragraphs in ten are for training, the rest for
# validation. The model reads characters: the vocabulary is the set of
# characters of the training text, and a token is its index.
#
# **The baseline** is the best model that ignores context, the unigram model
# $p(c)$ = frequency of character $c$ in the training text (with one added count,
# so a character never seen costs a finite amount). Its cross-entropy on the
# validation text is about the entropy of the character distribution,
# $H = -\sum_c p(c)\log p(c)$, in nats. A model that uses the context must go
# below it.

# %%
def documentation_paragraphs():
    seen = {}
    for topic in sorted(topics):
        for paragraph in re.split(r"\n\s*\n", topics[topic]):
            lines = [ln for ln in paragraph.split("\n") if not re.fullmatch(r"[\s*=+|\-]*", ln)]
            text = "\n".join(lines).strip("\n")
            if len(text) >= 40:
                seen.setdefault(text, None)
    return list(seen)


paragraphs = documentation_paragraphs()
order = rng.permutation(len(paragraphs))
n_val = len(paragraphs) // 10
train_text = "\n\n".join(paragraphs[i] for i in order[n_val:])
val_text = "\n\n".join(paragraphs[i] for i in order[:n_val])
chars = sorted(set(train_text))
char_index = {c: i for i, c in enumerate(chars)}
train_data = np.array([char_index[c] for c in train_text])
val_data = np.array([char_index.get(c, char_index[" "]) for c in val_text])  # unseen -> space

counts = np.bincount(train_data, minlength=len(chars)) + 1
unigram = counts / counts.sum()
unigram_entropy = float(-(unigram * np.log(unigram)).sum())
unigram_val_loss = float(-np.log(unigram[val_data]).mean())
print(f"{len(train_text):,} training and {len(val_text):,} validation characters, "
      f"{len(chars)} distinct")
print(f"unigram baseline: entropy {unigram_entropy:.3f} nats, validation cross-entropy "
      f"{unigram_val_loss:.3f} nats (uniform over {len(chars)} characters: {math.log(len(chars)):.3f})")

# %% [markdown]
# ## The model
#
# `nn.TransformerLM` is a decoder-only Transformer
# ([the block and the model](../math/attention.md#transformer-block-and-language-model)):
# token embeddings plus learned position embeddings, then `n_layers` pre-LayerNorm
# blocks $x \leftarrow x + \operatorname{MultiHead}(\operatorname{LN}(x))$,
# $x \leftarrow x + \operatorname{MLP}(\operatorname{LN}(x))$, all causal, and a
# linear head that gives, at every position, logits over the next character. The
# loss is the [cross-entropy](../math/losses.md#cross-entropy-with-label-smoothing)
# averaged over all positions of all sequences of the batch.
#
# A training batch is `BATCH` windows of `CONTEXT` characters at random offsets
# of the training text; the target is the same window shifted by one.

# %%
CONTEXT = fast_or_full(32, 48)
BATCH = 32
D_MODEL, N_LAYERS = fast_or_full(32, 64), fast_or_full(1, 2)
STEPS = fast_or_full(80, 600)
EVAL_EVERY = fast_or_full(20, 100)
VAL_BATCHES = fast_or_full(4, 8)


def random_windows(data, n, generator):
    """``n`` (input, target) windows of CONTEXT characters; the target is shifted by one."""
    starts = generator.integers(0, len(data) - CONTEXT - 1, size=n)
    positions = starts[:, None] + np.arange(CONTEXT)
    return data[positions], data[positions + 1]


def decode(ids):
    return "".join(chars[i] for i in ids)


def sample(model, prompt, length, temperature=0.8):
    ids = np.array([[char_index[c] for c in prompt]])
    return decode(model.generate(ids, length, temperature=temperature).numpy()[0])


def validation_loss(model, batches=VAL_BATCHES):
    """Mean cross-entropy on fixed random windows of the validation text."""
    windows = np.random.default_rng(1)
    model.eval()
    with mg.no_grad():
        losses = [F.cross_entropy(model(x).reshape(-1, len(chars)), y.reshape(-1)).item()
                  for x, y in (random_windows(val_data, BATCH, windows) for _ in range(batches))]
    model.train()
    return float(np.mean(losses))


mg.manual_seed(0)
model = nn.TransformerLM(len(chars), d_model=D_MODEL, n_heads=4, n_layers=N_LAYERS,
                         d_ff=4 * D_MODEL, max_len=CONTEXT)
print(model)
PROMPT = "The "
before = sample(model, PROMPT, 120)
loss_before = validation_loss(model)
print(f"\nvalidation loss before training {loss_before:.3f} (log {len(chars)} = "
      f"{math.log(len(chars)):.3f}); a sample:\n{before!r}")

# %% [markdown]
# ## Training
#
# [AdamW](../math/optimizers.md#adamw-decoupled-weight-decay) (Loshchilov &
# Hutter, 2019) with a cosine learning-rate schedule, and the gradient norm
# clipped to 1, as GPT-2 is usually trained. Every `EVAL_EVERY` steps the
# validation loss is measured on the same fixed windows.

# %%
optimizer = mg.optim.AdamW(model.parameters(), lr=3e-3, weight_decay=0.01)
schedule = mg.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=STEPS, eta_min=3e-4)
batches = np.random.default_rng(0)
train_losses, val_steps, val_losses = [], [0], [loss_before]
start = time.perf_counter()
for step in range(1, STEPS + 1):
    x, y = random_windows(train_data, BATCH, batches)
    loss = F.cross_entropy(model(x).reshape(-1, len(chars)), y.reshape(-1))
    optimizer.zero_grad()
    loss.backward()
    nn.utils.clip_grad_norm_(model.parameters(), max_norm=1.0)
    optimizer.step()
    schedule.step()
    train_losses.append(loss.item())
    if step % EVAL_EVERY == 0 or step == STEPS:
        val_steps.append(step)
        val_losses.append(validation_loss(model))
        print(f"step {step:4d}  train {np.mean(train_losses[-EVAL_EVERY:]):.3f}  "
              f"validation {val_losses[-1]:.3f}  ({time.perf_counter() - start:.0f} s)")

# %%
fig, ax = plt.subplots(figsize=(8, 4))
ax.plot(np.arange(1, STEPS + 1), train_losses, color="C0", alpha=0.35, lw=1, label="training batch")
ax.plot(val_steps, val_losses, "o-", color="C1", label="validation")
ax.axhline(unigram_val_loss, color="k", ls="--", label=f"unigram baseline {unigram_val_loss:.2f}")
ax.axhline(math.log(len(chars)), color="0.5", ls=":", label="uniform guess")
ax.set(xlabel="step", ylabel="cross-entropy (nats per character)",
       title="the Transformer learns the documentation's characters")
ax.legend()
save_figure(fig, "08_loss")

after = sample(model, PROMPT, 300)  # the sample before training is printed above
print(f"sample after training (temperature 0.8):\n{after}")

# %% [markdown]
# The numbers are cross-entropies in nats per character; $e^{\text{loss}}$ is the
# *perplexity*, the number of equally likely characters the model is hesitating
# between. The unigram model hesitates between about $e^{3.2} \approx 25$; the
# trained model, which knows spelling, common words, indentation and some of
# Python's syntax, reaches about 1.8 nats in full mode (600 steps), so it
# hesitates between about $e^{1.8} \approx 6$.
#
# ## What the heads look at
#
# `need_weights=True` makes `nn.MultiheadAttention` also return the attention
# weights, averaged over the heads. To see each head, the cell below recomputes
# them from the first block's projections (the `project` of the multi-head
# section) on a piece of documentation text, and checks that their mean is what
# the layer returns. Each row is a position, each column a character it may look
# at; the causal mask leaves the upper triangle empty.

# %%
snippet_text = "The \"with\" statement is used to wrap the execution"[:CONTEXT]
snippet = np.array([[char_index[c] for c in snippet_text]])
block = model.blocks[0]
model.eval()
with mg.no_grad():
    normed = block.ln1(model.pos_emb(model.tok_emb(snippet)))
    _, averaged = block.attn(normed, normed, normed, need_weights=True, is_causal=True)
    q, k = project(block.attn, normed, 0), project(block.attn, normed, 1)
    scores = q @ k.transpose(-2, -1) / math.sqrt(q.shape[-1]) + causal(len(snippet_text))
    head_weights = scores.softmax(dim=-1).numpy()[0]  # (heads, L, L)
weights = averaged.numpy()[0]
heads_gap = np.abs(head_weights.mean(axis=0) - weights).max()

fig, axes = plt.subplots(1, len(head_weights), figsize=(4.2 * len(head_weights), 4.6))
for h, ax in enumerate(axes):
    ax.imshow(head_weights[h] ** 0.5, cmap="magma", vmin=0, vmax=1)  # sqrt: small weights stay visible
    # every third character, large enough to read; a space shows as "␣"
    ticks = range(0, len(snippet_text), 3)
    labels = [snippet_text[i].replace(" ", "␣") for i in ticks]
    ax.set_xticks(ticks)
    ax.set_xticklabels(labels, fontsize=8)
    ax.set_yticks(ticks)
    ax.set_yticklabels(labels, fontsize=8)
    ax.set_title(f"head {h + 1}")
axes[0].set_ylabel("query (predicts the next character)")
fig.supxlabel("key (a character the query may look at); colour = sqrt(weight)")
save_figure(fig, "08_attention")
print(f"mean of the heads vs need_weights=True: {heads_gap:.1e}")
print("weight on the query's own position, per head:",
      np.round([np.mean(np.diag(w)) for w in head_weights], 2))
print("weight on the previous position, per head:   ",
      np.round([np.mean(np.diag(w, -1)) for w in head_weights], 2))

# %% [markdown]
# After full training the four heads mostly look along a band just left of the
# diagonal: the last few characters, which is what spelling a word needs (about
# 0.35 to 0.4 of each query's weight goes to the previous character alone). Some
# rows, at the start of a word, spread their weight further back.
#
# ## Exercises
#
# **Exercise 1.** Replace the learned positions by the fixed sinusoidal table: after building the
# model, swap `model.pos_emb` for `nn.PositionalEncoding(D_MODEL, CONTEXT)`. Is the
# validation loss after training different?
#
# <details markdown="1"><summary>Hint</summary>
#
# Both take (N, L, d) and return x plus a position code, so the assignment
# `model.pos_emb = nn.PositionalEncoding(D_MODEL, max_len=CONTEXT)` is all it
# takes; build the optimizer *after* the swap so it sees the right parameters.
#
# </details>
#
# **Exercise 2.** Remove the causal mask (build the blocks with `causal=False`, or set
# `block.causal = False` on each). The training loss collapses. Why is that a
# disaster and not a success?
#
# <details markdown="1"><summary>Hint</summary>
#
# The target at position $t$ is the input at position $t+1$: without the mask
# the model can copy it. Sampling, where the next character is not there yet,
# then produces nonsense.
#
# </details>
#
# **Exercise 3.** Generate with `temperature=0` (greedy) and with `temperature=1.5`, and with
# `top_k=5`. What goes wrong at each extreme?
#
# <details markdown="1"><summary>Hint</summary>
#
# Greedy decoding falls into loops ("the the the"); a high temperature flattens
# the distribution toward the uniform guess and misspells. `top_k` removes the
# unlikely tail, which is where most misspellings come from.
#
# </details>

# %% [markdown]
# ## What this chapter showed (checked when it runs)

# %%
assert value_gap < 1e-12 and grad_gap < 1e-12, "the fused attention computes the formula"
assert causal_gap < 1e-12 and np.allclose(np.triu(causal_weights.numpy(), 1), 0)
assert pe_gap < 1e-6 and shift_gap < 1e-9, "sinusoidal table: the formula, depends on p - p' only"
assert mha_gap < 1e-5, "multi-head attention is h scaled dot-product attentions and W_O"
assert np.triu(weights, 1).max() == 0 and np.allclose(weights.sum(axis=1), 1, atol=1e-5)
assert heads_gap < 1e-5, "need_weights=True returns the mean of the heads' weights"
final_val = val_losses[-1]
# full mode: validation loss at least 1 nat (a factor e in perplexity) below the unigram baseline
# (measured: 1.80 against 3.20)
assert final_val < unigram_val_loss - fast_or_full(0.3, 1.0), (final_val, unigram_val_loss)
assert final_val < loss_before - fast_or_full(1.0, 2.0), "training lowered the validation loss"
print(f"chapter 8: all checks passed (validation {final_val:.3f} nats, unigram {unigram_val_loss:.3f})")
