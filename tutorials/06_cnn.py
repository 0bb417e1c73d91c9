# %% [markdown]
# # 6. Convolutional networks: im2col, pooling and a CNN on MNIST
#
# **What you will build.** A convolution written from scratch as *im2col + one
# matrix product*, checked against minigrad's `F.conv2d` (value, output shape
# and gradient); max pooling and where its gradient goes; then a small
# convolutional network trained on the 5,000-digit MNIST subset that ships with
# minigrad, with random shifts as data augmentation. You will look at the
# filters it learns and the feature maps they produce. In full mode the CNN
# reaches at least **97 % test accuracy** (4,000 training / 1,000 test digits),
# against about 95 % for the MLP of chapter 4.

# %%
import time

import numpy as np
from _common import FAST, fast_or_full, plt, save_figure, seed

import minigrad as mg
import minigrad.nn.functional as F
from minigrad import metrics, nn, optim
from minigrad.data import DataLoader, TensorDataset
from minigrad.datasets.mnist import MNIST_MEAN, MNIST_STD, load_embedded_mnist

rng = seed(0)
print("fast mode" if FAST else "full mode")

# %% [markdown]
# ## What a convolution computes
#
# An MLP treats an image as a flat vector: it does not know that neighbouring
# pixels belong together, and a stroke shifted by one pixel is a brand new input.
# A **convolution layer** slides a small filter (say $3\times 3$) over the image
# and computes the same weighted sum at every position. Its weights are shared
# across positions (far fewer parameters), and a pattern is detected wherever it
# appears.
#
# For an input $x$ with $C$ channels, $O$ filters $w$ of size $K_h \times K_w$,
# stride $s$, zero padding $p$ and dilation $d$ (the gap between kernel taps),
# output channel $o$ at pixel $(i, j)$ is
#
# $$y_{o,i,j} = b_o + \sum_{c=1}^{C}\sum_{u=0}^{K_h-1}\sum_{v=0}^{K_w-1}
#   w_{o,c,u,v}\; x^{\text{pad}}_{c,\; i s + u d,\; j s + v d}.$$
#
# (Strictly this is a cross-correlation: the kernel is not flipped. Every deep
# learning library calls it convolution, and since the kernel is learned, the
# difference does not matter.) Counting the positions where the dilated kernel,
# which spans $d(K-1)+1$ pixels, fits into the padded input gives the
# **output size**
#
# $$H_{\text{out}} = \left\lfloor \frac{H + 2p - d(K-1) - 1}{s} \right\rfloor + 1
#   \qquad\text{(and the same for the width).}$$

# %%
def conv_output_size(size, kernel, stride=1, padding=0, dilation=1):
    return (size + 2 * padding - dilation * (kernel - 1) - 1) // stride + 1


configs = [  # (H, K, stride, padding, dilation)
    (28, 3, 1, 0, 1), (28, 3, 1, 1, 1), (28, 5, 2, 2, 1), (28, 3, 2, 0, 1), (28, 3, 1, 2, 2), (7, 7, 1, 0, 1),
]
sizes_agree = True
print(" H  K  s  p  d | formula  F.conv2d")
for h, k, s, p, d in configs:
    out = F.conv2d(mg.zeros(1, 1, h, h), mg.zeros(1, 1, k, k), stride=s, padding=p, dilation=d)
    expected = conv_output_size(h, k, s, p, d)
    sizes_agree &= out.shape[2:] == (expected, expected)
    print(f"{h:2d} {k:2d} {s:2d} {p:2d} {d:2d} | {expected:7d}  {out.shape[2]:8d}")

# %% [markdown]
# `padding = (K-1)/2` with stride 1 keeps the size ("same" padding, row 2);
# stride 2 halves it (rows 3 and 4).
#
# ## im2col: a convolution is one matrix product
#
# Every output pixel reads one **patch** of $C \cdot K_h \cdot K_w$ input values.
# Write each patch as a row of a matrix, `cols` of shape
# $(N \cdot H_{\text{out}} W_{\text{out}},\; C K_h K_w)$; write each filter as a
# row of $W_{\text{mat}}$, shape $(O,\; C K_h K_w)$. Then the whole convolution is
#
# $$Y = \text{cols}\; W_{\text{mat}}^\top + b \quad\in \mathbb{R}^{N H_{\text{out}} W_{\text{out}} \times O},$$
#
# one large matrix product, the operation BLAS libraries (and GPUs) are fastest
# at. The price is memory: each input pixel is copied into up to $K_h K_w$ rows.
# Here it is on a $4\times 4$ image with a $2\times 2$ kernel: 9 patches of 4 values.

# %%
tiny = np.arange(16, dtype=np.float32).reshape(1, 1, 4, 4)
tiny_w = np.array([[[[1.0, 0.0], [0.0, -1.0]]]], dtype=np.float32)  # x[i, j] - x[i+1, j+1]


def im2col(x, kh, kw, stride=1, padding=0, dilation=1):
    """(N, C, H, W) -> patches as rows: (N·OH·OW, C·KH·KW), and (OH, OW).

    Index arithmetic instead of loops: row offsets i·s + u·d for every output row i
    and kernel row u, the same for columns, and one fancy-indexing gather.
    """
    n, c, h, w = x.shape
    oh = conv_output_size(h, kh, stride, padding, dilation)
    ow = conv_output_size(w, kw, stride, padding, dilation)
    x_pad = np.pad(x, ((0, 0), (0, 0), (padding, padding), (padding, padding)))
    rows = (np.arange(oh) * stride)[:, None] + (np.arange(kh) * dilation)[None, :]  # (OH, KH)
    cols = (np.arange(ow) * stride)[:, None] + (np.arange(kw) * dilation)[None, :]  # (OW, KW)
    patches = x_pad[:, :, rows[:, None, :, None], cols[None, :, None, :]]  # (N, C, OH, OW, KH, KW)
    return patches.transpose(0, 2, 3, 1, 4, 5).reshape(n * oh * ow, c * kh * kw), (oh, ow)


def conv2d_im2col(x, w, b=None, stride=1, padding=0, dilation=1):
    """The convolution above, as im2col followed by one matrix product."""
    o, c, kh, kw = w.shape
    cols, (oh, ow) = im2col(x, kh, kw, stride, padding, dilation)
    y = cols @ w.reshape(o, c * kh * kw).T
    if b is not None:
        y = y + b
    return y.reshape(x.shape[0], oh, ow, o).transpose(0, 3, 1, 2)


tiny_cols, _ = im2col(tiny, 2, 2)
print("the image:\n", tiny[0, 0])
print("cols (one patch per row):\n", tiny_cols)
print("cols @ w =", (tiny_cols @ tiny_w.reshape(1, 4).T).ravel())
print("F.conv2d :", F.conv2d(mg.tensor(tiny), mg.tensor(tiny_w)).numpy().ravel())

# %% [markdown]
# This kernel computes $x_{i,j} - x_{i+1,j+1}$, which is $-5$ everywhere on this
# ramp. Now the general case (several images and channels, stride, padding,
# dilation) against `F.conv2d`:

# %%
x_check = rng.standard_normal((2, 3, 9, 9)).astype(np.float32)
w_check = rng.standard_normal((4, 3, 3, 3)).astype(np.float32)
b_check = rng.standard_normal(4).astype(np.float32)
conv_errors = []
for stride, padding, dilation in [(1, 0, 1), (2, 1, 1), (1, 2, 2), (3, 1, 1)]:
    ours = conv2d_im2col(x_check, w_check, b_check, stride, padding, dilation)
    library = F.conv2d(mg.tensor(x_check), mg.tensor(w_check), mg.tensor(b_check),
                       stride=stride, padding=padding, dilation=dilation).numpy()
    conv_errors.append(np.abs(ours - library).max())
    print(f"stride {stride} padding {padding} dilation {dilation}: output {ours.shape}, "
          f"max difference {conv_errors[-1]:.1e}")

# %% [markdown]
# ## The backward pass
#
# Since $Y = \text{cols}\,W_{\text{mat}}^\top$, the gradients follow from the
# matrix product rule (chapter 1), with $G = \partial L / \partial Y$:
#
# $$\frac{\partial L}{\partial W_{\text{mat}}} = G^\top \text{cols}, \qquad
#   \frac{\partial L}{\partial\, \text{cols}} = G\, W_{\text{mat}}, \qquad
#   \frac{\partial L}{\partial b} = \textstyle\sum_{\text{rows}} G .$$
#
# The gradient with respect to the input is **col2im**, the adjoint of im2col:
# every entry of $\partial L/\partial\,\text{cols}$ is *added* back to the pixel
# it was copied from (a pixel in several patches collects several
# contributions, the accumulation rule of chapter 1). `minigrad.ops.conv`
# implements exactly this; `minigrad.gradcheck` confirms it in float64. In minigrad
# this backward is `Conv2d.backward` in `minigrad/ops/conv.py`.

# %%
x64 = mg.randn(1, 2, 5, 5, dtype=mg.float64, requires_grad=True)
w64 = mg.randn(3, 2, 3, 3, dtype=mg.float64, requires_grad=True)
b64 = mg.randn(3, dtype=mg.float64, requires_grad=True)
conv_gradcheck = mg.gradcheck(lambda x, w, b: F.conv2d(x, w, b, stride=2, padding=1), [x64, w64, b64])
print("F.conv2d passes gradcheck:", conv_gradcheck)

# %% [markdown]
# ## Pooling
#
# **Max pooling** keeps the largest value of each $k\times k$ window (stride $k$
# by default, so the windows do not overlap): it halves the resolution with
# $k = 2$, and makes the output insensitive to shifts smaller than the window.
# Its output size is the formula above with $d = 1$. The gradient of a maximum
# is 1 for the element that won and 0 for the others, so the backward routes
# each window's incoming gradient to its argmax. In minigrad this backward is
# `MaxPool2d.backward` in `minigrad/ops/pool.py`.

# %%
pool_in = mg.tensor([[[[1.0, 3.0, 2.0, 0.0],
                       [4.0, 2.0, 1.0, 1.0],
                       [0.0, 1.0, 5.0, 6.0],
                       [2.0, 3.0, 7.0, 1.0]]]], requires_grad=True)
pooled = F.max_pool2d(pool_in, 2)
pooled.backward(mg.ones(*pooled.shape))
print("max_pool2d:\n", pooled.numpy()[0, 0])
print("gradient (1 at each window's maximum):\n", pool_in.grad.numpy()[0, 0])

# %% [markdown]
# ## The data and the augmentation
#
# The same embedded MNIST as chapter 4, as images of shape $(1, 28, 28)$. With
# only 4,000 training digits, the network would soon memorise them. **Data
# augmentation** shows it a slightly different version of each digit every
# epoch: here a random shift of up to 2 pixels in each direction, a change
# that does not change the label. It is drawn with one fancy-indexing gather
# for the whole training set (no loop over images).

# %%
data = load_embedded_mnist()
n_train, n_test = fast_or_full(1500, 4000), fast_or_full(500, 1000)
raw_train, y_train = data.x_train[:n_train], data.y_train[:n_train].astype(np.int64)
raw_test, y_test = data.x_test[:n_test], data.y_test[:n_test].astype(np.int64)


def normalise(images):
    """uint8 (N, 28, 28) -> float32 (N, 1, 28, 28) with zero mean and unit variance."""
    x = images.astype(np.float32)[:, None] / 255.0
    return (x - np.float32(MNIST_MEAN)) / np.float32(MNIST_STD)


def random_shift(x, max_shift, rng):
    """Shift every image of (N, 1, H, W) by its own random (dy, dx) in [-max_shift, max_shift]."""
    n, _, h, w = x.shape
    background = x.min()
    m = max_shift
    padded = np.pad(x[:, 0], ((0, 0), (m, m), (m, m)), constant_values=background)
    dy, dx = rng.integers(0, 2 * m + 1, size=(2, n))
    rows = dy[:, None, None] + np.arange(h)[None, :, None]
    cols = dx[:, None, None] + np.arange(w)[None, None, :]
    return padded[np.arange(n)[:, None, None], rows, cols][:, None]


x_train, x_test = normalise(raw_train), normalise(raw_test)
print(f"{data.description}; using {len(x_train)} train / {len(x_test)} test, shape {x_train.shape[1:]}")

fig, axes = plt.subplots(2, 8, figsize=(9, 2.6))
shifted = random_shift(x_train[:8], 2, np.random.default_rng(1))
for k in range(8):
    axes[0, k].imshow(x_train[k, 0], cmap="gray_r")
    axes[1, k].imshow(shifted[k, 0], cmap="gray_r")
for ax in axes.flat:
    ax.set_xticks([])
    ax.set_yticks([])
axes[0, 0].set_ylabel("original")
axes[1, 0].set_ylabel("shifted")
save_figure(fig, "06_augmentation")

# %% [markdown]
# ## The network
#
# Two blocks of *convolution → ReLU → max pooling*, then the MLP head of
# chapter 4. The $3\times3$ convolutions use padding 1 ("same" size), so only
# the pooling shrinks the maps: $28 \to 14 \to 7$. The first block learns 16
# detectors of small strokes and edges; the second combines them, over a wider
# region of the digit (exercise 4), into 32 detectors of larger parts.
# Initialisation as in PyTorch: `nn.Conv2d` draws its weights uniformly in
# $\pm 1/\sqrt{C K_h K_w}$.

# %%
model = nn.Sequential(
    nn.Conv2d(1, 16, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),   # 16 x 14 x 14
    nn.Conv2d(16, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),  # 32 x 7 x 7
    nn.Flatten(),
    nn.Linear(32 * 7 * 7, 128), nn.ReLU(), nn.Dropout(0.3),
    nn.Linear(128, 10),
)
print(model)

shape_trace = []
with mg.no_grad():
    h = mg.tensor(x_train[:1])
    for layer in model:
        h = layer(h)
        shape_trace.append((type(layer).__name__, h.shape))
for name, shape in shape_trace:
    print(f"  {name:10s} -> {shape}")

# %% [markdown]
# ## Training
#
# Adam as in chapter 4, with a
# [**cosine learning-rate schedule**](../math/optimizers.md#learning-rate-schedules)
# (Loshchilov & Hutter, 2017; `optim.lr_scheduler.CosineAnnealingLR`): the rate falls from $\eta_0$ to 0
# along half a cosine over the run, $\eta_t = \frac{\eta_0}{2}\big(1 + \cos\frac{\pi t}{T}\big)$,
# so the last epochs take small, careful steps. Each epoch draws a new
# augmentation of the training set.

# %%
epochs = fast_or_full(3, 10)
optimizer = optim.Adam(model.parameters(), lr=2e-3)
scheduler = optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=epochs)


def evaluate(model, x, y, batch_size=500):
    """(mean cross-entropy, accuracy, logits) on all of ``x``, in eval mode, in batches."""
    model.eval()
    with mg.no_grad():
        logits = np.concatenate([model(mg.tensor(x[i:i + batch_size])).numpy()
                                 for i in range(0, len(x), batch_size)])
        loss = F.cross_entropy(mg.tensor(logits), mg.tensor(y)).item()
    return loss, metrics.accuracy(y, logits), logits


def train_one_epoch(model, x, y, optimizer, epoch):
    """One pass over a freshly shifted copy of ``x``; mean loss and accuracy over the batches."""
    model.train()
    loader = DataLoader(TensorDataset(random_shift(x, 2, rng), y), batch_size=64, shuffle=True,
                        seed=epoch)
    loss_sum, correct = 0.0, 0
    for xb, yb in loader:
        logits = model(xb)
        loss = F.cross_entropy(logits, yb)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        loss_sum += loss.item() * len(yb)
        correct += int((logits.numpy().argmax(axis=1) == yb.numpy()).sum())
    return loss_sum / len(y), correct / len(y)


history = {"train_loss": [], "train_acc": [], "test_loss": [], "test_acc": []}
initial_test_loss, _, _ = evaluate(model, x_test, y_test)
start = time.perf_counter()
for epoch in range(1, epochs + 1):
    train_loss, train_acc = train_one_epoch(model, x_train, y_train, optimizer, epoch)
    scheduler.step()
    test_loss, test_acc, _ = evaluate(model, x_test, y_test)
    for key, value in zip(history, (train_loss, train_acc, test_loss, test_acc)):
        history[key].append(value)
    print(f"epoch {epoch:2d} ({time.perf_counter() - start:5.1f} s): train loss {train_loss:.4f} "
          f"acc {train_acc:.2%} | test loss {test_loss:.4f} acc {test_acc:.2%}")
train_seconds = time.perf_counter() - start
final_test_loss, final_test_acc, test_logits = evaluate(model, x_test, y_test)
print(f"trained {epochs} epochs in {train_seconds:.1f} s: test accuracy {final_test_acc:.2%}")

# %%
epoch_axis = np.arange(1, epochs + 1)
fig, (loss_ax, acc_ax) = plt.subplots(1, 2, figsize=(10, 3.6))
loss_ax.plot(epoch_axis, history["train_loss"], "o-", label="train (shifted, dropout on)")
loss_ax.plot(epoch_axis, history["test_loss"], "s-", label="test")
loss_ax.set(xlabel="epoch", ylabel="cross-entropy", title="loss")
acc_ax.plot(epoch_axis, history["train_acc"], "o-", label="train (shifted, dropout on)")
acc_ax.plot(epoch_axis, history["test_acc"], "s-", label="test")
acc_ax.set(xlabel="epoch", title="accuracy")
acc_ax.yaxis.set_major_formatter(lambda v, _: f"{v:.1%}")
for ax in (loss_ax, acc_ax):
    ax.grid(alpha=0.3)
    ax.legend()
save_figure(fig, "06_curves")

# %% [markdown]
# ## What the network learned
#
# The 16 filters of the first layer are $3\times3$ weight patterns; each is
# applied everywhere in the image. Blue and red are negative and positive
# weights: many look like small edge and stroke detectors (a positive side next
# to a negative side responds to a change of brightness in that direction).

# %%
filters = model[0].weight.numpy()[:, 0]  # (16, 3, 3)
limit = np.abs(filters).max()
fig, axes = plt.subplots(2, 8, figsize=(9, 2.6))
for k, ax in enumerate(axes.flat):
    ax.imshow(filters[k], cmap="coolwarm", vmin=-limit, vmax=limit)
    ax.set_title(f"filter {k}", fontsize=8)
    ax.axis("off")
fig.suptitle("the 16 learned 3x3 filters of the first convolution")
save_figure(fig, "06_filters")

# %% [markdown]
# The **feature maps** are what those filters output on one test digit (after
# the ReLU): each map lights up where its pattern occurs. After the second
# block, the 32 maps are $7\times 7$: coarser, and each responds to a larger
# part of the digit.

# %%
digit = mg.tensor(x_test[:1])
model.eval()
with mg.no_grad():
    maps1 = model[:2](digit).numpy()[0]  # conv1 + ReLU: (16, 28, 28)
    maps2 = model[:5](digit).numpy()[0]  # up to conv2 + ReLU: (32, 14, 14)

fig = plt.figure(figsize=(12, 4.2))
grid = fig.add_gridspec(3, 13)
ax = fig.add_subplot(grid[:, :3])
ax.imshow(raw_test[0], cmap="gray_r")
ax.set_title(f"input: a {y_test[0]}")
ax.axis("off")
for k in range(16):
    ax = fig.add_subplot(grid[k // 8, 3 + (k % 8)])
    ax.imshow(maps1[k], cmap="magma")
    ax.set_title(f"conv1 #{k}", fontsize=7)
    ax.axis("off")
strongest = np.argsort(-maps2.reshape(32, -1).max(axis=1))[:8]
for col, k in enumerate(strongest):
    ax = fig.add_subplot(grid[2, 3 + col])
    ax.imshow(maps2[k], cmap="magma")
    ax.set_title(f"conv2 #{k}", fontsize=7)
    ax.axis("off")
fig.suptitle("feature maps: all 16 of the first layer, the 8 strongest of the second")
save_figure(fig, "06_feature_maps")

# %% [markdown]
# ## Where it still fails

# %%
test_pred = test_logits.argmax(axis=1)
cm = metrics.confusion_matrix(y_test, test_pred, num_classes=10)
wrong = np.flatnonzero(test_pred != y_test)
print(metrics.classification_report(y_test, test_pred, digits=3))
fig, axes = plt.subplots(2, 8, figsize=(9, 2.8))
for ax in axes.flat:
    ax.axis("off")
for ax, i in zip(axes.flat, wrong):
    ax.imshow(raw_test[i], cmap="gray_r")
    ax.set_title(f"said {test_pred[i]}, is {y_test[i]}", fontsize=8, color="firebrick")
fig.suptitle(f"{len(wrong)} of {len(y_test)} test digits misclassified (first 16 shown)")
save_figure(fig, "06_misclassified")

# %% [markdown]
# ## Exercises
#
# **Exercise 1.** Train without augmentation (replace `random_shift(x, 2, rng)` by `x`).
# How do the training and test accuracy compare now?
#
# <details markdown="1"><summary>Hint</summary>
#
# The training accuracy gets close to 100 % and the gap to the test accuracy
# widens: the network memorises the 4,000 digits instead of learning shapes.
#
# </details>
#
# **Exercise 2.** Compute the number of parameters of the model, layer by layer, by hand.
# Which layer holds most of them? Replace `nn.Flatten()` and the first `Linear` by
# `nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(32, 128)`: how many parameters
# are left, and how does the accuracy change?
#
# <details markdown="1"><summary>Hint</summary>
#
# A `Conv2d(C, O, K)` has $O \cdot C \cdot K^2 + O$ parameters, a `Linear(n, m)`
# $m\,n + m$. Compare with `model.num_parameters()`. Global average pooling
# throws away *where* each feature was found.
#
# </details>
#
# **Exercise 3.** Write `maxpool_im2col(x, k)` from scratch with `im2col` (one channel at a
# time is fine: treat channels as images) and check it against `F.max_pool2d`.
#
# <details markdown="1"><summary>Hint</summary>
#
# Reshape $(N, C, H, W)$ to $(N C, 1, H, W)$, call `im2col(x, k, k, stride=k)`,
# take `.max(axis=1)` of the patch rows and reshape to $(N, C, H/k, W/k)$.
#
# </details>
#
# **Exercise 4.** How large is the region of the input that one pixel of the second
# block's feature maps depends on (its *receptive field*)?
#
# <details markdown="1"><summary>Hint</summary>
#
# Walk backwards: $1$ pixel after conv2 sees $3\times3$ of pool1's output, which
# covers $6\times 6$ pixels of conv1's output, which see $8\times8$ input pixels.
#
# </details>

# %% [markdown]
# ## What this chapter showed (checked when it runs)

# %%
accuracy_floor = fast_or_full(0.85, 0.97)
assert sizes_agree, "the output-size formula matches F.conv2d"
assert np.array_equal(tiny_cols[0], [0, 1, 4, 5]) and tiny_cols.shape == (9, 4)
assert max(conv_errors) < 1e-4, "im2col + matmul = F.conv2d"
assert conv_gradcheck, "the convolution's backward matches finite differences"
assert pooled.numpy()[0, 0].tolist() == [[4, 2], [3, 7]]
assert pool_in.grad.numpy().sum() == 4 and pool_in.grad.numpy()[0, 0, 3, 2] == 1, "gradient to the argmax"
assert [shape for _, shape in shape_trace][2] == (1, 16, 14, 14) and shape_trace[-1][1] == (1, 10)
assert final_test_loss < initial_test_loss / 5, "the test loss falls by a factor of 5 or more"
assert final_test_acc >= accuracy_floor, f"test accuracy {final_test_acc:.2%} < {accuracy_floor:.0%}"
print(f"chapter 6: all checks passed (test accuracy {final_test_acc:.2%}, "
      f"{train_seconds:.1f} s of training)")
