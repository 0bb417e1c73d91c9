# %% [markdown]
# # 12. Explaining predictions
#
# **What you will build.** Three explanations of *why* a small convolutional
# network calls a digit a 3: a **gradient saliency map** (which pixels the
# class score is most sensitive to), **gradient × input** (how much each pixel's
# ink contributes), and an **occlusion map** (how much the prediction suffers
# when a patch is hidden). All three are drawn side by side. Then you will test
# them, because an explanation is also a claim that can be wrong: erasing the
# pixels an explanation calls important must hurt the prediction more than
# erasing random pixels.

# %%
import time

import numpy as np
from _common import FAST, fast_or_full, plt, save_figure, seed

import minigrad as mg
import minigrad.nn.functional as F
from minigrad import metrics, nn
from minigrad.data import DataLoader, TensorDataset
from minigrad.datasets import MNIST_MEAN, MNIST_STD, load_mnist
from minigrad.examples.mnist import normalise

rng = seed(0)
print("fast mode" if FAST else "full mode")

# %% [markdown]
# ## A model to explain
#
# A small CNN: two blocks of 3×3 convolution, ReLU and 2×2 max-pooling, then
# one linear layer to the 10 class scores (the *logits* $z_0,\dots,z_9$). It
# is trained with [Adam](../math/optimizers.md#adam) on the
# [cross-entropy](../math/losses.md#cross-entropy-with-label-smoothing) of the
# [softmax](../math/activations.md#softmax) probabilities
# $p_k = e^{z_k} / \sum_j e^{z_j}$. Images are normalised as in the other
# MNIST chapters: $x = (\text{pixel}/255 - 0.1307)/0.3081$.

# %%
data = load_mnist()
# At most 8,000 training and 2,000 test digits: the full MNIST (when it could be
# downloaded) would take this CPU-only chapter several minutes per epoch.
n_train = fast_or_full(1000, min(len(data.y_train), 8000))
x_train, y_train = normalise(data.x_train[:n_train]), data.y_train[:n_train].astype(np.int64)
x_test, y_test = normalise(data.x_test[:2000]), data.y_test[:2000].astype(np.int64)

model = nn.Sequential(
    nn.Conv2d(1, 8, 3), nn.ReLU(), nn.MaxPool2d(2),    # 28 -> 26 -> 13
    nn.Conv2d(8, 16, 3), nn.ReLU(), nn.MaxPool2d(2),   # 13 -> 11 -> 5
    nn.Flatten(), nn.Linear(16 * 5 * 5, 10),
)
optimizer = mg.optim.Adam(model.parameters(), lr=3e-3)
loader = DataLoader(TensorDataset(x_train, y_train), batch_size=64, shuffle=True, seed=0)

start = time.perf_counter()
for epoch in range(1, fast_or_full(2, 5) + 1):
    model.train()
    for xb, yb in loader:
        loss = F.cross_entropy(model(xb), yb)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    print(f"epoch {epoch}: last batch loss {loss.item():.4f}")

# From here on the model is only explained, never trained: eval mode, and frozen
# weights, so backward() computes gradients for the input and for nothing else.
model.eval().requires_grad_(False)


def probabilities(x: np.ndarray) -> np.ndarray:
    """(N, 1, 28, 28) normalised images -> (N, 10) class probabilities."""
    return F.softmax(model(mg.tensor(x)), dim=-1).numpy()


test_probs = probabilities(x_test)
test_accuracy = metrics.accuracy(y_test, test_probs.argmax(axis=1))
print(f"trained on {n_train} digits in {time.perf_counter() - start:.1f} s; "
      f"test accuracy {test_accuracy:.2%}")

# %% [markdown]
# The digits to explain: the first test digits the model classifies correctly
# (explaining a right answer first; exercise 3 looks at wrong ones), and a
# larger set for the quantitative test at the end.

# %%
n_explained = fast_or_full(30, 200)
correct = np.flatnonzero(test_probs.argmax(axis=1) == y_test)[:n_explained]
X, Y = x_test[correct], y_test[correct]
print(f"explaining {len(Y)} correctly classified test digits")

# %% [markdown]
# ## Gradient saliency
#
# Simonyan, Vedaldi and Zisserman (2014, *Deep Inside Convolutional Networks*)
# rank the pixels of an image $x$ of class $c$ by the magnitude of the gradient
# of the class score:
#
# $$S_{ij} = \left|\frac{\partial z_c}{\partial x_{ij}}\right| .$$
#
# Near $x$ the network is roughly linear, $z_c(x + \delta) \approx z_c(x) +
# \sum_{ij} \frac{\partial z_c}{\partial x_{ij}}\,\delta_{ij}$, so $S_{ij}$ says
# how strongly a small change of pixel $(i, j)$ moves the score. They use the
# logit $z_c$ rather than the probability $p_c$, whose gradient also depends on
# the other classes' scores.
#
# In minigrad this is one `backward()`: make the *input* a leaf with
# `requires_grad=True`, and its `.grad` is the saliency. A whole batch costs
# one backward too. Backpropagate $\sum_n z_{n, c_n}$, the sum of each image's
# true-class logit (picked with a one-hot mask): image $n$'s logits depend on
# image $n$ only, so the gradient of the sum with respect to image $n$ is the
# gradient of its own $z_{n, c_n}$. (That holds in eval mode; BatchNorm in
# training mode would mix the images of a batch.)

# %%
def class_score_gradients(x: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """∂ z_label / ∂ x for every image of ``x`` (N, 1, 28, 28), as an (N, 28, 28) array."""
    inputs = mg.tensor(x, requires_grad=True)
    logits = model(inputs)
    picks = F.one_hot(mg.tensor(labels), num_classes=10).float()  # int64 would promote to float64
    (logits * picks).sum().backward()
    return inputs.grad.numpy()[:, 0]


start = time.perf_counter()
gradients = class_score_gradients(X, Y)
saliency_time = time.perf_counter() - start
saliency = np.abs(gradients)

alone = class_score_gradients(X[:1], Y[:1])
print(f"gradients of {len(Y)} digits in {saliency_time * 1000:.0f} ms (one backward)")
print("image 0 alone gives the same gradient as in the batch:",
      np.allclose(alone[0], gradients[0], rtol=1e-4, atol=1e-6))

# %% [markdown]
# ## Gradient × input
#
# Saliency says where the score is *sensitive*, not what the image *contains*:
# a blank pixel where ink would turn a 3 into an 8 can be very salient. Scaling
# the gradient by the pixel's value (Shrikumar et al., 2016; Ancona et al.,
# 2018) keeps only the pixels that carry something. "Value" must be measured
# from a *baseline* $\bar x$ that means "nothing here", the black image, which
# after normalisation is $\bar x = -0.1307/0.3081 \approx -0.42$, not 0:
#
# $$A_{ij} = (x_{ij} - \bar x_{ij})\,\frac{\partial z_c}{\partial x_{ij}},
# \qquad \sum_{ij} A_{ij} \approx z_c(x) - z_c(\bar x).$$
#
# The sum is the first-order Taylor estimate of how much the score gained from
# black to $x$: exact for a linear model, approximate for a ReLU network. $A$ is
# signed: red pixels speak for class $c$, blue ones against it.

# %%
black = np.float32(-MNIST_MEAN / MNIST_STD)
grad_times_input = gradients * (X[:, 0] - black)

logit_gain = (model(mg.tensor(X)).numpy() - model(mg.tensor(np.full_like(X[:1], black))).numpy())
logit_gain = logit_gain[np.arange(len(Y)), Y]
taylor = grad_times_input.sum(axis=(1, 2))
print(f"z_c(x) - z_c(black): mean {logit_gain.mean():.2f}; "
      f"sum of gradient x input: mean {taylor.mean():.2f}; "
      f"correlation over digits {np.corrcoef(logit_gain, taylor)[0, 1]:.2f}")

# %% [markdown]
# ## Occlusion
#
# Zeiler and Fergus (2014, *Visualizing and Understanding Convolutional
# Networks*) ask the model directly instead of reading gradients: cover a square
# patch $P$ of the image with grey, and record how much the true-class
# probability drops,
#
# $$\Delta_P = p_c(x) - p_c(x \text{ with } P \text{ greyed}) .$$
#
# Sliding a $6\times6$ patch with stride 2 gives $12 \times 12 = 144$ occluded
# copies of each image; the map value of a pixel is the mean $\Delta_P$ over the
# patches that cover it. "Grey" is the mean MNIST pixel, which normalises to 0.
# No gradient is involved, so occlusion also works for models you can only
# query, but it costs 144 forward passes per image where saliency needed a
# fraction of one backward. The masks of all patch positions are built at once
# by broadcasting: a pixel is in a patch when its row *and* its column are.

# %%
def patch_masks(patch: int = 6, stride: int = 2, side: int = 28) -> np.ndarray:
    """Boolean (P, side, side): one mask per position of a patch×patch square."""
    starts = np.arange(0, side - patch + 1, stride)
    pixels = np.arange(side)
    inside = (pixels >= starts[:, None]) & (pixels < starts[:, None] + patch)  # (positions, side)
    return (inside[:, None, :, None] & inside[None, :, None, :]).reshape(-1, side, side)


def occlusion_map(image: np.ndarray, label: int, masks: np.ndarray, grey: float = 0.0) -> np.ndarray:
    """Mean drop of p_label over the patches covering each pixel of ``image`` (1, 28, 28)."""
    occluded = np.where(masks, np.float32(grey), image[0])[:, None]  # (P, 1, 28, 28): one batch
    drops = probabilities(image[None])[0, label] - probabilities(occluded)[:, label]
    return (drops[:, None, None] * masks).sum(axis=0) / masks.sum(axis=0)


masks = patch_masks()
start = time.perf_counter()
# One image at a time: all images' copies at once would need ~0.6 GB in the first conv layer.
occlusion = np.stack([occlusion_map(image, label, masks) for image, label in zip(X, Y)])
occlusion_time = time.perf_counter() - start
print(f"{len(masks)} patch positions; occlusion maps of {len(Y)} digits in {occlusion_time:.1f} s "
      f"({occlusion_time / saliency_time:.0f}x the time of the saliency maps)")

# %% [markdown]
# ## The three explanations side by side

# %%
shown = [int(np.flatnonzero(Y == digit)[0]) for digit in (0, 3, 4, 7, 9)]
fig, axes = plt.subplots(len(shown), 4, figsize=(8.4, 2.1 * len(shown)))
columns = ["digit", "saliency |∂z_c/∂x|", "gradient × input", "occlusion Δp_c"]
for row, n in zip(axes, shown):
    row[0].imshow(X[n, 0], cmap="gray_r")
    row[0].set_ylabel(f"class {Y[n]}, p = {test_probs[correct[n], Y[n]]:.2f}", fontsize=9)
    row[1].imshow(saliency[n], cmap="hot")
    for ax, signed in zip(row[2:], (grad_times_input[n], occlusion[n])):
        limit = np.abs(signed).max() + 1e-12
        ax.imshow(signed, cmap="RdBu_r", vmin=-limit, vmax=limit)
        ax.contour(X[n, 0], levels=[0.5], colors="k", linewidths=0.4)  # the digit's outline
for ax, title in zip(axes[0], columns):
    ax.set_title(title, fontsize=10)
for ax in axes.ravel():
    ax.set_xticks([])
    ax.set_yticks([])
fig.suptitle("why the CNN says what it says (red: for the class, blue: against)", y=1.0)
fig.tight_layout()
save_figure(fig, "12_explanations")

# %% [markdown]
# The saliency map spreads over and around the stroke: the score reacts to
# pixels where ink *could* be. Gradient × input is confined to the ink, and
# occlusion, which looks at whole patches, is coarser but says the same thing
# in probability units.
#
# ## Sanity check: erase what the explanation points at
#
# A map that looks plausible may still be wrong (Adebayo et al., 2018, show
# saliency methods that barely depend on the model). A simple quantitative test
# is **deletion** (Samek et al., 2017): erase (set to black) the $k\%$ of pixels
# the explanation ranks highest and measure the true-class probability. A
# faithful explanation makes it fall fast; erasing $k\%$ random pixels is the
# baseline to beat. Ranks come from one `argsort` per method; each fraction is
# one batched forward pass.

# %%
def deletion_curve(attributions: np.ndarray, fractions) -> np.ndarray:
    """Mean true-class probability after erasing each fraction of the top-ranked pixels."""
    n = len(attributions)
    order = np.argsort(-attributions.reshape(n, -1), axis=1, kind="stable")
    rank = np.empty_like(order)
    np.put_along_axis(rank, order, np.broadcast_to(np.arange(order.shape[1]), order.shape), axis=1)
    rank = rank.reshape(attributions.shape)
    curve = []
    for fraction in fractions:
        erased = np.where(rank < round(fraction * rank[0].size), black, X[:, 0])[:, None]
        curve.append(probabilities(erased)[np.arange(n), Y].mean())
    return np.array(curve)


fractions = np.array([0, 0.01, 0.02, 0.05, 0.1, 0.15, 0.2])
methods = {
    "saliency": saliency,
    "gradient × input": grad_times_input,
    "occlusion": occlusion,
    "random pixels": rng.random(saliency.shape),
}
curves = {name: deletion_curve(a, fractions) for name, a in methods.items()}
print("fraction erased:  " + "  ".join(f"{f:5.0%}" for f in fractions))
for name, curve in curves.items():
    print(f"{name:17s} " + "  ".join(f"{p:5.3f}" for p in curve))

# %%
fig, ax = plt.subplots(figsize=(6.4, 4))
for (name, curve), style in zip(curves.items(), ["o-", "s-", "^-", "k--"]):
    ax.plot(fractions * 100, curve, style, label=name)
ax.set(xlabel="% of pixels erased (most important first)", ylabel="mean p(true class)",
       title=f"deletion test on {len(Y)} test digits", ylim=(0, 1.02))
ax.legend()
save_figure(fig, "12_deletion")

# %% [markdown]
# Every explanation beats random erasure, which barely moves the prediction:
# most random pixels are background, already black. Gradient × input and
# occlusion, which point at the ink, destroy the prediction with a tenth of the
# pixels. Plain saliency is slower to hurt, for the reason seen in the maps:
# many of its top pixels are blank, and erasing a blank pixel changes nothing.
# The test measures one thing, "does the model need these pixels", which is
# not the same as "would the model change its mind if these pixels changed":
# choose the explanation that answers your question.
#
# ## Exercises
#
# **Exercise 1.** Integrated gradients (Sundararajan et al., 2017) average the gradient along
# the straight path from the black image $\bar x$ to $x$:
# $IG_{ij} = (x_{ij} - \bar x_{ij}) \int_0^1 \frac{\partial z_c}{\partial x_{ij}}\big(\bar x + \alpha(x - \bar x)\big)\,d\alpha$.
# Implement it with 32 steps of `class_score_gradients` and check that
# $\sum_{ij} IG_{ij} \approx z_c(x) - z_c(\bar x)$ much better than gradient × input.
#
# <details markdown="1"><summary>Hint</summary>
#
# Stack the 32 interpolated images of *one* digit into a batch
# (`black + alphas[:, None, None, None] * (X[n] - black)`), call
# `class_score_gradients` with 32 copies of the label, and average over the
# batch axis. The sum converges to the logit gain as the number of steps grows.
#
# </details>
#
# **Exercise 2.** Adebayo et al.'s *model randomisation* test: re-initialise the model's weights
# (build a fresh `nn.Sequential` and load nothing) and compute the saliency maps again. If
# they still look like the digits, what do they explain?
#
# <details markdown="1"><summary>Hint</summary>
#
# Compare the maps of the trained and the random model with the correlation
# of their flattened values (`np.corrcoef`). A map that stays the same when the
# model is destroyed reflects the input (edges), not what the model learned.
#
# </details>
#
# **Exercise 3.** Explain a *misclassified* digit: which pixels speak for the wrong class, and
# which for the true one?
#
# <details markdown="1"><summary>Hint</summary>
#
# Take `np.flatnonzero(test_probs.argmax(axis=1) != y_test)`, and call
# `class_score_gradients` twice, with the predicted and with the true labels;
# show both gradient × input maps next to the digit.
#
# </details>
#
# **Exercise 4.** Occlusion depends on its patch and fill: try a 3×3 and a 10×10 patch, and a
# black or white fill instead of grey. How do the maps and the deletion curve change?
#
# <details markdown="1"><summary>Hint</summary>
#
# `patch_masks(patch=3, stride=1)` gives 676 positions (and costs 676 forwards
# per digit); the fill is `occlusion_map(..., grey=black)` for black and
# `grey=(1 - MNIST_MEAN) / MNIST_STD` for white.
#
# </details>

# %% [markdown]
# ## What this chapter showed (checked when it runs)

# %%
assert test_accuracy > fast_or_full(0.75, 0.93), f"test accuracy {test_accuracy:.2%}"
assert np.allclose(alone[0], gradients[0], rtol=1e-4, atol=1e-6), "batched gradients are per-image"
assert saliency.shape == grad_times_input.shape == occlusion.shape == (len(Y), 28, 28)
assert np.all(grad_times_input[X[:, 0] == black] == 0), "gradient x input is zero on blank pixels"
assert np.corrcoef(logit_gain, taylor)[0, 1] > 0.5, "gradient x input tracks the logit gain"
at_5, at_10 = list(fractions).index(0.05), list(fractions).index(0.1)
random_drop = curves["random pixels"][0] - curves["random pixels"][at_5]
for name in ("saliency", "gradient × input", "occlusion"):
    drop = curves[name][0] - curves[name][at_5]
    assert drop > random_drop + 0.05, f"{name}: erasing its top 5% lowers p by {drop:.3f}, random {random_drop:.3f}"
for name in ("gradient × input", "occlusion"):
    assert curves[name][at_10] < 0.5 * curves[name][0], f"{name}: 10% erased keeps p = {curves[name][at_10]:.2f}"
print("chapter 12: all checks passed")
