# %% [markdown]
# # 4. An MLP on MNIST: softmax, cross-entropy, dropout and Adam
#
# **What you will build.** A multi-layer perceptron that reads handwritten
# digits (28×28 grey images) and says which of the ten digits each one is. On
# the way you will derive the softmax and the cross-entropy loss, check their
# gradient against minigrad's fused `F.cross_entropy`, feed mini-batches with a
# `DataLoader`, regularise with dropout, train with Adam, and look at what the
# network gets wrong: learning curves, a confusion matrix and the misclassified
# digits. In full mode the network reaches at least **93 % test accuracy** on
# the 5,000-digit MNIST subset that ships with minigrad.

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
# ## The data
#
# `minigrad.datasets.mnist.load_mnist()` downloads the full MNIST (60,000 training
# and 10,000 test digits) when it can, and otherwise falls back to 5,000 real
# MNIST digits embedded in the package. This chapter uses the embedded subset
# directly (`load_embedded_mnist()`), so it runs offline and its results are
# the same on every machine: 4,000 training and 1,000 test digits, 400 and 100
# of each class.
#
# The pixels are bytes in $[0, 255]$. Scaling them to $[0, 1]$ and then
# standardising with the mean and standard deviation of the MNIST training
# pixels ($0.1307$ and $0.3081$) puts the inputs on a scale of about one, which
# is what the weight initialisation assumes.

# %%
data = load_embedded_mnist()
n_train, n_test = fast_or_full(1500, 4000), fast_or_full(500, 1000)
raw_train, y_train = data.x_train[:n_train], data.y_train[:n_train].astype(np.int64)
raw_test, y_test = data.x_test[:n_test], data.y_test[:n_test].astype(np.int64)


def normalise(images):
    """uint8 (N, 28, 28) -> float32 (N, 1, 28, 28) with zero mean and unit variance."""
    x = images.astype(np.float32)[:, None] / 255.0
    return (x - np.float32(MNIST_MEAN)) / np.float32(MNIST_STD)


x_train, x_test = normalise(raw_train), normalise(raw_test)
print(f"{data.description}; using {len(x_train)} train / {len(x_test)} test")
print("x_train", x_train.shape, x_train.dtype, f"mean {x_train.mean():.3f} std {x_train.std():.3f}")
print("digits per class in train:", np.bincount(y_train, minlength=10))

# %%
fig, axes = plt.subplots(2, 10, figsize=(10, 2.4))
for digit in range(10):
    for row, index in enumerate(np.flatnonzero(y_train == digit)[:2]):
        axes[row, digit].imshow(raw_train[index], cmap="gray_r")
        axes[row, digit].set_title(str(digit), fontsize=9)
for ax in axes.flat:
    ax.axis("off")
fig.suptitle("training digits, two of each class")
save_figure(fig, "04_digits")

# %% [markdown]
# ## From scores to probabilities: softmax
#
# The network outputs ten real numbers per image, the **logits**
# $z \in \mathbb{R}^{10}$: one score per class, any sign, any size. The
# [softmax](../math/activations.md#softmax) turns them into a probability
# distribution (positive, summing to one) and keeps their order:
#
# $$p_c = \operatorname{softmax}(z)_c = \frac{e^{z_c}}{\sum_{k} e^{z_k}}
#   = \frac{e^{z_c - m}}{\sum_{k} e^{z_k - m}}, \qquad m = \max_k z_k .$$
#
# Subtracting the maximum does not change the result (it cancels between
# numerator and denominator) but keeps every exponent $\le 0$, so nothing
# overflows: $e^{100}$ is already `inf` in float32. In minigrad this stable form
# is `stable_softmax` in `minigrad/ops/stable.py`, and the softmax's backward,
# $dz = p \odot (g - \langle g, p\rangle)$, is `Softmax.backward` in
# `minigrad/ops/reduce.py`.
#
# ## Cross-entropy: the price of a wrong probability
#
# A classifier is good when it gives the true class $y$ a high probability. The
# **cross-entropy** loss is the negative log of that probability (the negative
# log-likelihood of the labels under the model):
#
# $$\ell(z, y) = -\log p_y = -z_y + \log\sum_k e^{z_k}
#   = \operatorname{logsumexp}(z) - z_y .$$
#
# It is $0$ for a certain, correct answer and grows without bound as $p_y \to 0$.
# The second form is the stable one: it never takes the log of a probability
# that has rounded to zero. The [log-softmax](../math/activations.md#log-softmax)
# $\log p = z - \operatorname{logsumexp}(z)$ is exactly this computation for all
# classes at once.
#
# **Its gradient is the reason it is everyone's favourite.** Differentiating
# $\operatorname{logsumexp}(z) - z_y$ with respect to $z_k$: the derivative of
# [logsumexp](../math/activations.md#logsumexp) is the softmax, and the
# derivative of $z_y$ is $1$ when $k = y$, so
#
# $$\frac{\partial \ell}{\partial z_k} = p_k - [k = y]
#   \qquad\text{i.e.}\qquad
#   \nabla_z \ell = \operatorname{softmax}(z) - \operatorname{onehot}(y).$$
#
# The error signal is simply *what the model believed minus what was true*;
# averaged over a batch of $N$ rows it is divided by $N$. minigrad's
# [`F.cross_entropy`](../math/losses.md#cross-entropy-with-label-smoothing) fuses
# softmax, log and this backward into one op. Here is the same loss built from
# elementary ops, checked against it, and the gradient checked against the formula.
# In minigrad this backward is `CrossEntropy.backward` in `minigrad/ops/loss.py`
# (its fast path is exactly $p - \operatorname{onehot}(y)$); the elementary
# version goes through `LogSumExp.backward` in `minigrad/ops/reduce.py`.

# %%
def cross_entropy_from_scratch(logits, targets):
    """mean over rows of logsumexp(z) - z_y, from minigrad's elementary ops."""
    log_probs = logits - logits.logsumexp(dim=1, keepdim=True)
    picked = log_probs[mg.arange(len(targets)), targets]
    return -picked.mean()


logits = mg.randn(6, 10, dtype=mg.float64, requires_grad=True)
targets = mg.tensor(rng.integers(0, 10, size=6))

ours = cross_entropy_from_scratch(logits, targets)
ours.backward()
grad_ours = logits.grad.numpy().copy()
logits.grad = None

fused = F.cross_entropy(logits, targets)
fused.backward()
grad_fused = logits.grad.numpy()

p = np.exp(logits.numpy()) / np.exp(logits.numpy()).sum(axis=1, keepdims=True)
grad_formula = (p - np.eye(10)[targets.numpy()]) / len(p)
print(f"from scratch {ours.item():.10f}   F.cross_entropy {fused.item():.10f}")
print("gradient, from scratch vs fused     :", np.abs(grad_ours - grad_fused).max())
print("gradient, fused vs (softmax-onehot)/N:", np.abs(grad_fused - grad_formula).max())

# %% [markdown]
# The stable form matters. With logits as large as a badly initialised or
# diverging network can produce, the naive `log(softmax(z))` takes the log of
# probabilities that have rounded to exactly zero:

# %%
big = mg.tensor([[1000.0, 0.0, -1000.0]])
with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
    naive = -np.log(np.exp(big.numpy()) / np.exp(big.numpy()).sum())
print("naive  -log softmax:", naive)
print("stable -log softmax:", -F.log_softmax(big, dim=1).numpy())
print("F.cross_entropy with target 2:", F.cross_entropy(big, mg.tensor([2])).item())

# %% [markdown]
# ## The model: a multi-layer perceptron
#
# Flatten each image into a vector $x \in \mathbb{R}^{784}$ and apply two affine
# maps with a [ReLU](../math/activations.md#relu) in between:
#
# $$h = \operatorname{relu}(W_1 x + b_1) \in \mathbb{R}^{256}, \qquad
#   z = W_2\, \operatorname{dropout}(h) + b_2 \in \mathbb{R}^{10}.$$
#
# `nn.Linear` initialises $W$ uniformly in $\pm 1/\sqrt{n_{\text{in}}}$, $n_{\text{in}}$ its number of inputs
# ([PyTorch's default, a Kaiming variant](../math/init.md#kaiming-he)): the weights
# have variance $1/(3 n_{\text{in}})$, so each pre-activation starts with about a
# third of the variance of the inputs, neither exploding nor vanishing.
#
# **Dropout** (Srivastava et al., 2014) fights overfitting: in training, each
# hidden unit is zeroed with probability $q$ and the survivors are scaled by
# $1/(1-q)$,
#
# $$\operatorname{dropout}(h)_i = \frac{m_i\, h_i}{1 - q}, \qquad m_i \sim \operatorname{Bernoulli}(1 - q),$$
#
# so the expected value is unchanged and nothing needs rescaling at test time,
# where dropout is the identity. `model.train()` and `model.eval()` switch
# between the two behaviours. No unit can rely on a particular other unit being
# there, which pushes the network towards redundant, more robust features.

# %%
hidden, drop = 256, 0.2
model = nn.Sequential(
    nn.Flatten(),
    nn.Linear(784, hidden), nn.ReLU(), nn.Dropout(drop),
    nn.Linear(hidden, 10),
)
print(model)

h = mg.ones(2, 8)
print("dropout in training:", F.dropout(h, p=0.5, training=True).numpy()[0])
print("dropout in eval    :", F.dropout(h, p=0.5, training=False).numpy()[0])

# %% [markdown]
# ## Mini-batches and Adam
#
# One gradient step on all 4,000 images costs as much as 62 steps on batches
# of 64, and the small-batch gradient is a good enough estimate of the full one.
# A `DataLoader` over a `TensorDataset` cuts the data into shuffled mini-batches
# (a new order every epoch, repeatable through its `seed`).
#
# [Adam](../math/optimizers.md#adam) (Kingma & Ba, 2015) keeps, for every
# parameter, running averages of the gradient and of its square, and steps by
# their ratio:
#
# $$m \leftarrow \beta_1 m + (1-\beta_1) g, \quad
#   v \leftarrow \beta_2 v + (1-\beta_2) g^2, \quad
#   \theta \leftarrow \theta - \eta\,\frac{m / (1-\beta_1^t)}{\sqrt{v / (1-\beta_2^t)} + \epsilon},$$
#
# so each weight gets a step of about $\eta$ whatever the scale of its
# gradient. Chapter 3 compares it with plain SGD; here it is simply the
# optimizer that works with its default $\eta = 10^{-3}$.
#
# The training loop is PyTorch's: forward, loss, `zero_grad`, `backward`, `step`.
# After each epoch the model is evaluated on the test digits, in `eval` mode
# (dropout off) and under `no_grad()` (no graph is recorded).

# %%
batch_size, epochs = 64, fast_or_full(4, 15)
loader = DataLoader(TensorDataset(x_train, y_train), batch_size=batch_size, shuffle=True, seed=0)
optimizer = optim.Adam(model.parameters(), lr=1e-3)


def evaluate(model, x, y):
    """(mean cross-entropy, accuracy, logits) of ``model`` on all of ``x``, in eval mode."""
    model.eval()
    with mg.no_grad():
        logits = model(mg.tensor(x))
        loss = F.cross_entropy(logits, mg.tensor(y)).item()
    return loss, metrics.accuracy(y, logits), logits.numpy()


def train_one_epoch(model, loader, optimizer):
    """One pass over ``loader``; the mean training loss and accuracy over its batches."""
    model.train()
    loss_sum, correct, seen = 0.0, 0, 0
    for xb, yb in loader:
        logits = model(xb)
        loss = F.cross_entropy(logits, yb)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        loss_sum += loss.item() * len(yb)
        correct += int((logits.numpy().argmax(axis=1) == yb.numpy()).sum())
        seen += len(yb)
    return loss_sum / seen, correct / seen


history = {"train_loss": [], "train_acc": [], "test_loss": [], "test_acc": []}
initial_test_loss, initial_test_acc, _ = evaluate(model, x_test, y_test)
start = time.perf_counter()
for epoch in range(1, epochs + 1):
    train_loss, train_acc = train_one_epoch(model, loader, optimizer)
    test_loss, test_acc, _ = evaluate(model, x_test, y_test)
    for key, value in zip(history, (train_loss, train_acc, test_loss, test_acc)):
        history[key].append(value)
    print(f"epoch {epoch:2d}: train loss {train_loss:.4f} acc {train_acc:.2%} | "
          f"test loss {test_loss:.4f} acc {test_acc:.2%}")
train_seconds = time.perf_counter() - start
print(f"before training: test loss {initial_test_loss:.3f} (log 10 = {np.log(10):.3f}), "
      f"accuracy {initial_test_acc:.1%}")
print(f"trained {epochs} epochs in {train_seconds:.1f} s")

# %% [markdown]
# Before training, the test loss is close to $\log 10 \approx 2.30$: a network
# that knows nothing gives every class a probability near $1/10$, and
# $-\log\frac{1}{10} = \log 10$. That is a useful sanity check for any new
# classifier.
#
# ## Learning curves

# %%
epoch_axis = np.arange(1, epochs + 1)
fig, (loss_ax, acc_ax) = plt.subplots(1, 2, figsize=(10, 3.8))
loss_ax.plot(epoch_axis, history["train_loss"], "o-", label="train (dropout on)")
loss_ax.plot(epoch_axis, history["test_loss"], "s-", label="test")
loss_ax.set(xlabel="epoch", ylabel="cross-entropy", title="loss")
acc_ax.plot(epoch_axis, history["train_acc"], "o-", label="train (dropout on)")
acc_ax.plot(epoch_axis, history["test_acc"], "s-", label="test")
acc_ax.set(xlabel="epoch", title="accuracy")
acc_ax.yaxis.set_major_formatter(lambda v, _: f"{v:.0%}")
for ax in (loss_ax, acc_ax):
    ax.grid(alpha=0.3)
    ax.legend()
save_figure(fig, "04_curves")

# %% [markdown]
# The training numbers are measured *with dropout on* and averaged over an
# epoch during which the weights kept changing, so early on they can even be
# worse than the test numbers. The gap that opens later between the train and
# test loss is overfitting: with 4,000 examples and 200,000 parameters, the
# network can memorise, and dropout only slows that down.
#
# ## What does it get wrong?
#
# The **confusion matrix** $C$ counts, for every true class $i$ (row) and
# predicted class $j$ (column), the test digits of class $i$ predicted as $j$.
# The diagonal holds the correct answers, so
# [accuracy](../math/metrics.md#accuracy) is $\operatorname{tr} C / \sum_{ij} C_{ij}$.
# Per class, [precision](../math/metrics.md#precision) $TP/(TP+FP)$ reads down
# a column and [recall](../math/metrics.md#recall) $TP/(TP+FN)$ along a row
# (chapter 5 looks at them closely).

# %%
final_test_loss, final_test_acc, test_logits = evaluate(model, x_test, y_test)
test_pred = test_logits.argmax(axis=1)
cm = metrics.confusion_matrix(y_test, test_pred, num_classes=10)
print(metrics.classification_report(y_test, test_pred, digits=3))

fig, ax = plt.subplots(figsize=(6, 5))
image = ax.imshow(cm, cmap="Blues")
fig.colorbar(image, ax=ax, fraction=0.046)
ax.set(xticks=range(10), yticks=range(10), xlabel="predicted digit", ylabel="true digit",
       title=f"test confusion matrix ({cm.trace()} of {cm.sum()} correct)")
for (i, j), count in np.ndenumerate(cm):
    if count:
        ax.text(j, i, count, ha="center", va="center", fontsize=8,
                color="white" if count > cm.max() / 2 else "black")
save_figure(fig, "04_confusion_matrix")

off_diagonal = cm - np.diag(np.diag(cm))
worst_true, worst_pred = np.unravel_index(off_diagonal.argmax(), cm.shape)
print(f"most frequent confusion: {worst_true} taken for {worst_pred} "
      f"({off_diagonal.max()} times)")

# %% [markdown]
# The misclassified digits, with the probability the model gave its (wrong)
# answer, show that many mistakes are digits a person would hesitate over too;
# others are confidently wrong, which is why a probability near one is not a
# guarantee.

# %%
test_probs = mg.tensor(test_logits).softmax(dim=1).numpy()
wrong = np.flatnonzero(test_pred != y_test)
shown = wrong[np.argsort(-test_probs[wrong, test_pred[wrong]])][:18]
fig, axes = plt.subplots(3, 6, figsize=(8.5, 5))
for ax in axes.flat:
    ax.axis("off")
for ax, i in zip(axes.flat, shown):
    ax.imshow(raw_test[i], cmap="gray_r")
    ax.set_title(f"said {test_pred[i]} ({test_probs[i, test_pred[i]]:.0%})\ntrue {y_test[i]}",
                 fontsize=8, color="firebrick")
fig.suptitle(f"the most confident of {len(wrong)} misclassified test digits")
save_figure(fig, "04_misclassified")

# %% [markdown]
# ## Exercises
#
# **Exercise 1.** Train without dropout (`nn.Dropout(0.0)`) and with `nn.Dropout(0.5)`.
# How do the gap between train and test loss, and the final test accuracy, change?
#
# <details markdown="1"><summary>Hint</summary>
#
# Rebuild `model` and `optimizer` (the optimizer holds references to the old
# parameters) and run the training cell again. Without dropout the training
# loss falls faster and the test loss starts to *rise* after a few epochs.
#
# </details>
#
# **Exercise 2.** Replace `F.cross_entropy(logits, yb)` by
# `F.nll_loss(F.log_softmax(logits, dim=1), yb)`. Are the losses and the
# accuracies the same? Then try `-(F.softmax(logits, dim=1)[...]).log()`: what
# can go wrong?
#
# <details markdown="1"><summary>Hint</summary>
#
# The first pair is the same function split in two ops. The third takes the
# log of a probability, which can round to $0$ for a confidently wrong
# prediction and give `inf`.
#
# </details>
#
# **Exercise 3.** Train with `optim.SGD(model.parameters(), lr=0.1)` instead of Adam. How many
# epochs does it need to reach the same test accuracy?
#
# <details markdown="1"><summary>Hint</summary>
#
# Plain SGD needs a much larger learning rate than Adam's $10^{-3}$; try also
# `momentum=0.9` with `lr=0.05`. Chapter 3 explains the difference.
#
# </details>
#
# **Exercise 4.** With the full MNIST (`minigrad.datasets.mnist.load_mnist()`, when the
# download works), how far does the same MLP get?
#
# <details markdown="1"><summary>Hint</summary>
#
# Fifteen times more data: expect about 98 % after a few epochs (and about 15
# times longer per epoch). `python -m minigrad.examples.mnist` does exactly this.
#
# </details>

# %% [markdown]
# ## What this chapter showed (checked when it runs)

# %%
accuracy_floor = fast_or_full(0.80, 0.93)
assert abs(ours.item() - fused.item()) < 1e-12, "cross-entropy from scratch = F.cross_entropy"
assert np.allclose(grad_ours, grad_fused, atol=1e-12) and np.allclose(grad_fused, grad_formula, atol=1e-12)
assert np.isfinite(F.cross_entropy(big, mg.tensor([2])).item()), "the fused loss never overflows"
assert abs(initial_test_loss - np.log(10)) < 0.3, "an untrained classifier scores about log 10"
assert history["train_loss"][-1] < history["train_loss"][0] / 2, "the training loss at least halves"
assert final_test_loss < initial_test_loss / 5, "the test loss falls by a factor of 5 or more"
assert final_test_acc >= accuracy_floor, f"test accuracy {final_test_acc:.2%} < {accuracy_floor:.0%}"
assert cm.sum() == len(y_test) and cm.trace() == int((test_pred == y_test).sum())
print(f"chapter 4: all checks passed (test accuracy {final_test_acc:.2%}, "
      f"{train_seconds:.1f} s of training)")
