# %% [markdown]
# # 5. Binary classification: logistic regression, BCE and the threshold
#
# **What you will build.** A classifier that tells malignant from benign breast
# tumours from 30 measurements of cell nuclei (the Wisconsin diagnostic breast
# cancer data, 569 patients, shipped offline with scikit-learn). You will
# standardise the features without leaking the test set, derive the binary
# cross-entropy and see why minigrad computes it from *logits*, train a
# logistic regression and a small MLP, measure them with accuracy, precision,
# recall and F1, and move the decision threshold to trade false alarms for
# missed cancers. In full mode the logistic regression reaches at least
# **95 % test accuracy** and an F1 of at least **0.93**.
#
# This chapter needs scikit-learn (for the data set, and as a reference to
# check against): `pip install 'minigrad-edu[tutorials]'`.

# %%
import time

import numpy as np
from _common import FAST, fast_or_full, plt, save_figure, seed

import minigrad as mg
import minigrad.nn.functional as F
from minigrad import metrics, nn, optim
from minigrad.data import DataLoader, TensorDataset

try:
    import sklearn.metrics
    from sklearn.datasets import load_breast_cancer
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import train_test_split
except ImportError as error:
    raise ImportError(
        "chapter 5 needs scikit-learn (its breast cancer data set ships with it); install it "
        "with: pip install 'minigrad-edu[tutorials]'   (or: pip install scikit-learn)"
    ) from error

rng = seed(0)
print("fast mode" if FAST else "full mode")

# %% [markdown]
# ## The data
#
# Each row describes one fine-needle biopsy: the mean, the standard error and
# the worst value over the cell nuclei in the image of ten quantities (radius,
# texture, perimeter, area, smoothness, ...). scikit-learn codes *malignant* as 0
# and *benign* as 1; we flip it so that the **positive class $y = 1$ is
# malignant**, the condition we want to detect.
#
# The data are split, stratified by class so that each part has the same share
# of malignant cases, into 60 % **train** (fit the weights), 20 %
# **validation** (choose the decision threshold) and 20 % **test** (touched once,
# at the end, to report honest numbers).

# %%
cancer = load_breast_cancer()
features = cancer.data.astype(np.float32)
labels = (cancer.target == 0).astype(np.int64)  # 1 = malignant
print(f"{len(labels)} patients, {features.shape[1]} features, {labels.mean():.1%} malignant")

x_train, x_rest, y_train, y_rest = train_test_split(
    features, labels, test_size=0.4, stratify=labels, random_state=0)
x_val, x_test, y_val, y_test = train_test_split(
    x_rest, y_rest, test_size=0.5, stratify=y_rest, random_state=0)
print(f"train {len(y_train)}, validation {len(y_val)}, test {len(y_test)} "
      f"(malignant: {y_train.sum()}, {y_val.sum()}, {y_test.sum()})")
print(f"always answering 'benign' scores {1 - y_test.mean():.1%} test accuracy: the baseline to beat")

# %% [markdown]
# ## Standardisation, fitted on the training set only
#
# The features live on wildly different scales: *mean area* is in the
# hundreds, *mean smoothness* around $0.1$. Gradient descent on such inputs
# crawls along the small ones (chapter 2, exercise 2), so each feature $j$ is
# standardised:
#
# $$\tilde x_{ij} = \frac{x_{ij} - \mu_j}{\sigma_j}, \qquad
#   \mu_j = \frac{1}{N}\sum_{i \in \text{train}} x_{ij}, \quad
#   \sigma_j^2 = \frac{1}{N}\sum_{i \in \text{train}} (x_{ij} - \mu_j)^2 .$$
#
# $\mu$ and $\sigma$ are computed **on the training rows only** and then
# applied unchanged to validation and test. Computing them on all the data
# would let information about the test patients leak into the model, and the
# test score would no longer measure performance on *unseen* patients. (The
# validation and test features then have mean *close to* 0, not exactly 0.)

# %%
mu, sigma = x_train.mean(axis=0), x_train.std(axis=0)


def standardise(x):
    return (x - mu) / sigma


z_train, z_val, z_test = standardise(x_train), standardise(x_val), standardise(x_test)
print("feature scales before:", np.round(x_train.std(axis=0)[:4], 3), "...")
print(f"after, train: mean {np.abs(z_train.mean(axis=0)).max():.1e} (max |.|), std {z_train.std(axis=0).mean():.3f}")
print(f"after, test : mean {z_test.mean(axis=0).mean():+.3f} (average), std {z_test.std(axis=0).mean():.3f}")

# %%
fig, (left, right) = plt.subplots(1, 2, figsize=(10, 3.6))
left.boxplot(x_train[:, :10], orientation="horizontal", tick_labels=cancer.feature_names[:10])
left.set(xscale="log", title="raw features (log scale)", xlabel="value")
right.boxplot(z_train[:, :10], orientation="horizontal", tick_labels=[""] * 10)
right.set(title="standardised with the training μ, σ", xlabel="(x - μ) / σ")
save_figure(fig, "05_standardisation")

# %% [markdown]
# ## Logistic regression and the binary cross-entropy
#
# The model computes one score, the **logit** $z = w^\top x + b$, and turns it into
# a probability of malignancy with the [sigmoid](../math/activations.md#sigmoid):
#
# $$p = \sigma(z) = \frac{1}{1 + e^{-z}}, \qquad \sigma'(z) = \sigma(z)\,(1 - \sigma(z)).$$
#
# A label $y \in \{0, 1\}$ then has probability $p^y (1-p)^{1-y}$ under the
# model (Bernoulli). Maximising the likelihood of the training labels is
# minimising its negative log, the
# [**binary cross-entropy**](../math/losses.md#binary-cross-entropy):
#
# $$\ell(p, y) = -\big(y \log p + (1-y)\log(1-p)\big).$$
#
# **Why the logits form.** Substituting $p = \sigma(z)$ and using
# $\log \sigma(z) = -\operatorname{softplus}(-z)$,
# $\log(1-\sigma(z)) = -\operatorname{softplus}(z)$ with
# $\operatorname{softplus}(z) = \log(1 + e^{z})$, and
# $\operatorname{softplus}(-z) = \operatorname{softplus}(z) - z$:
#
# $$\ell(z, y) = \operatorname{softplus}(z) - yz
#   = \max(z, 0) - yz + \log\big(1 + e^{-|z|}\big),
#   \qquad \frac{\partial \ell}{\partial z} = \sigma(z) - y .$$
#
# The last form never exponentiates a positive number, so it cannot overflow,
# and it never takes the log of a probability that has been rounded to $0$ or
# $1$. Its gradient is again *prediction minus truth* (compare the softmax
# cross-entropy of chapter 4). This is
# [`F.binary_cross_entropy_with_logits`](../math/losses.md#binary-cross-entropy-with-logits).
# In minigrad this backward is `BCEWithLogits.backward` in `minigrad/ops/loss.py`,
# and the sigmoid's own $\sigma(z)(1 - \sigma(z))$ is `Sigmoid.backward` in
# `minigrad/ops/elementwise.py` (its forward is `stable_sigmoid`, from
# `minigrad/ops/stable.py`).
#
# The two-step version `binary_cross_entropy(sigmoid(z), y)` is the same
# function on paper, but in float32 $\sigma(30)$ rounds to exactly $1$: its
# loss for $y = 0$ becomes $-\log 0$ (clamped to 100), and its gradient
# $\frac{p - y}{p(1-p)}\,\sigma'(z)$ becomes $0$: the model is *confidently
# wrong* and gets no signal to change. The logits form gives the exact loss 30
# and the gradient 1. (The two-step gradient $\frac{p - y}{p(1-p)}$ is
# `BinaryCrossEntropy.backward` in `minigrad/ops/loss.py`.)

# %%
z = mg.tensor([30.0, -30.0, 2.0], requires_grad=True)
y = mg.tensor([0.0, 1.0, 1.0])

two_step = F.binary_cross_entropy(z.sigmoid(), y, reduction="none")
two_step.sum().backward()
grad_two_step = z.grad.numpy().copy()
z.grad = None

with_logits = F.binary_cross_entropy_with_logits(z, y, reduction="none")
with_logits.sum().backward()
grad_logits = z.grad.numpy().copy()
grad_formula = 1 / (1 + np.exp(-z.numpy().astype(np.float64))) - y.numpy()

print("logits z                  :", z.numpy())
print("two-step loss             :", two_step.numpy(), " gradient", grad_two_step)
print("with-logits loss          :", with_logits.numpy(), " gradient", grad_logits)
print("exact gradient σ(z) - y   :", np.round(grad_formula, 4))

# %% [markdown]
# ## Training the logistic regression
#
# Logistic regression is a one-layer network: `nn.Linear(30, 1)`. Mini-batches
# of 32, [Adam](../math/optimizers.md#adam), and a little weight decay (an L2
# penalty $\frac{\lambda}{2}\lVert w\rVert^2$): without it, when some
# combination of features separates the classes perfectly, the loss keeps
# falling as $\lVert w\rVert \to \infty$ and the predicted probabilities become
# overconfident.

# %%
def train(model, x, y, epochs, lr, weight_decay=1e-3):
    """Adam on the BCE-with-logits of ``model(x)``; returns the mean training loss per epoch."""
    loader = DataLoader(TensorDataset(x, y.astype(np.float32)), batch_size=32, shuffle=True, seed=0)
    optimizer = optim.Adam(model.parameters(), lr=lr, weight_decay=weight_decay)
    losses = []
    model.train()
    for _ in range(epochs):
        total = 0.0
        for xb, yb in loader:
            loss = F.binary_cross_entropy_with_logits(model(xb).reshape(-1), yb)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            total += loss.item() * len(yb)
        losses.append(total / len(y))
    return np.array(losses)


def predict_proba(model, x):
    """P(malignant) for every row of ``x``: the sigmoid of the logit, in eval mode."""
    model.eval()
    with mg.no_grad():
        return model(mg.tensor(x)).reshape(-1).sigmoid().numpy()


epochs = fast_or_full(15, 100)
logistic = nn.Linear(30, 1)
with mg.no_grad():
    initial_loss = F.binary_cross_entropy_with_logits(
        logistic(mg.tensor(z_train)).reshape(-1), mg.tensor(y_train.astype(np.float32))).item()
start = time.perf_counter()
losses_logistic = train(logistic, z_train, y_train, epochs, lr=0.01)
seconds_logistic = time.perf_counter() - start
print(f"loss: {initial_loss:.3f} before, {losses_logistic[-1]:.4f} after {epochs} epochs "
      f"({seconds_logistic:.1f} s)")

# %% [markdown]
# The same model from scikit-learn (`LogisticRegression`, which minimises the
# same loss with an L2 penalty by a quasi-Newton method) is a reference: the
# two should agree on almost every test patient.

# %%
proba_test = predict_proba(logistic, z_test)
pred_test = (proba_test >= 0.5).astype(np.int64)
reference = LogisticRegression(max_iter=5000).fit(z_train, y_train)
pred_reference = reference.predict(z_test)
agreement = (pred_test == pred_reference).mean()
print(f"test accuracy: minigrad {metrics.accuracy(y_test, pred_test):.2%}, "
      f"scikit-learn {metrics.accuracy(y_test, pred_reference):.2%}; "
      f"they agree on {agreement:.1%} of the test patients")

# %% [markdown]
# ## Accuracy is not enough: precision, recall, F1
#
# With the positive class "malignant", each prediction is one of four kinds:
# a **true positive** (TP, cancer found), a **false positive** (FP, a false
# alarm), a **false negative** (FN, a *missed* cancer) or a true negative (TN).
#
# * [accuracy](../math/metrics.md#accuracy) $= \dfrac{TP + TN}{N}$: the share of correct answers;
# * [precision](../math/metrics.md#precision) $= \dfrac{TP}{TP + FP}$: of the patients we flag, the share who are ill;
# * [recall](../math/metrics.md#recall) $= \dfrac{TP}{TP + FN}$: of the ill patients, the share we flag (sensitivity);
# * [F1](../math/metrics.md#f1-score) $= \dfrac{2PR}{P + R} = \dfrac{2\,TP}{2\,TP + FP + FN}$: their harmonic mean,
#   high only when *both* are.
#
# Accuracy hides the kind of mistake: on this data, a model that never finds a
# single cancer is still 63 % accurate. `minigrad.metrics` computes all four
# with scikit-learn's names and conventions (`average="binary"` reports the class
# `pos_label=1`); the cell checks them against scikit-learn's own.

# %%
def binary_report(y_true, y_pred):
    """accuracy, precision, recall, F1 of the positive class (malignant)."""
    p, r, f1 = metrics.precision_recall_f1(y_true, y_pred, average="binary", pos_label=1)
    return {"accuracy": metrics.accuracy(y_true, y_pred), "precision": p, "recall": r, "f1": f1}


report_logistic = binary_report(y_test, pred_test)
tn, fp, fn, tp = metrics.confusion_matrix(y_test, pred_test, num_classes=2).ravel()
print(f"TP {tp}  FP {fp}  FN {fn}  TN {tn}")
print({k: round(v, 4) for k, v in report_logistic.items()})

by_sklearn = {
    "accuracy": sklearn.metrics.accuracy_score(y_test, pred_test),
    "precision": sklearn.metrics.precision_score(y_test, pred_test),
    "recall": sklearn.metrics.recall_score(y_test, pred_test),
    "f1": sklearn.metrics.f1_score(y_test, pred_test),
}
metrics_agree = all(np.isclose(report_logistic[k], by_sklearn[k]) for k in by_sklearn)
print("minigrad.metrics == sklearn.metrics:", metrics_agree)

# %% [markdown]
# ## A small MLP
#
# A hidden layer lets the model combine features non-linearly:
# $z = w_2^\top \operatorname{relu}(W_1 x + b_1) + b_2$ with 16 hidden units. The
# loss and the training loop do not change, only the model.

# %%
mlp = nn.Sequential(nn.Linear(30, 16), nn.ReLU(), nn.Linear(16, 1))
start = time.perf_counter()
losses_mlp = train(mlp, z_train, y_train, epochs, lr=0.005)
seconds_mlp = time.perf_counter() - start
proba_test_mlp = predict_proba(mlp, z_test)
report_mlp = binary_report(y_test, (proba_test_mlp >= 0.5).astype(np.int64))
print(f"trained in {seconds_mlp:.1f} s")
for name, report in (("logistic", report_logistic), ("MLP", report_mlp)):
    print(f"{name:9s}" + "  ".join(f"{k} {v:.3f}" for k, v in report.items()))

# %%
fig, ax = plt.subplots(figsize=(6, 3.5))
ax.semilogy(np.arange(1, epochs + 1), losses_logistic, label="logistic regression")
ax.semilogy(np.arange(1, epochs + 1), losses_mlp, label="MLP 30-16-1")
ax.set(xlabel="epoch", ylabel="training BCE", title="training loss")
ax.grid(alpha=0.3)
ax.legend()
save_figure(fig, "05_training_loss")

# %% [markdown]
# On 341 training patients the MLP fits the training set better than the
# linear model but does not generalise much better: these features are
# already nearly linearly separable. The rest of the chapter uses the logistic
# regression.
#
# ## The threshold trade-off
#
# Predicting "malignant" when $p \ge 0.5$ is a choice, not a law. A lower
# threshold $t$ flags more patients: recall rises (fewer missed cancers) and
# precision usually falls (more false alarms); a higher one does the opposite.
# For screening, a missed cancer costs far more than a second examination, so
# one picks the threshold for a required recall, **on the validation set**
# (choosing it on the test set would again leak the test labels into the model).
#
# The sweep below also gives the **ROC curve**: the true positive rate (recall)
# against the false positive rate $FP / (FP + TN)$, one point per threshold.
# The area under it (AUC) is the probability that a random malignant case
# scores higher than a random benign one; 1 is perfect, 0.5 is chance.

# %%
def sweep(y_true, proba, thresholds):
    """precision, recall, false positive rate and F1 at every threshold (one row each)."""
    rows = []
    for t in thresholds:  # a hundred thresholds, each a vectorised evaluation
        pred = (proba >= t).astype(np.int64)
        p, r, f1 = metrics.precision_recall_f1(y_true, pred, average="binary", pos_label=1,
                                               num_classes=2)
        tn, fp = metrics.confusion_matrix(y_true, pred, num_classes=2)[0]
        rows.append((p, r, fp / (fp + tn), f1))
    return np.array(rows)


thresholds = np.linspace(0.0, 1.0, 101)
proba_val = predict_proba(logistic, z_val)
curve_val = sweep(y_val, proba_val, thresholds)
curve_test = sweep(y_test, proba_test, thresholds)

required_recall = 0.95
ok = curve_val[:, 1] >= required_recall
chosen = thresholds[ok][-1]  # the highest threshold that still meets the recall target
report_chosen = binary_report(y_test, (proba_test >= chosen).astype(np.int64))
print(f"threshold for validation recall >= {required_recall:.0%}: t = {chosen:.2f}")
print("on test, t = 0.50:", {k: round(v, 3) for k, v in report_logistic.items()})
print(f"on test, t = {chosen:.2f}:", {k: round(v, 3) for k, v in report_chosen.items()})

fpr, tpr = curve_test[::-1, 2], curve_test[::-1, 1]  # increasing false positive rate
auc = float(np.sum(np.diff(fpr) * (tpr[1:] + tpr[:-1]) / 2))
auc_sklearn = sklearn.metrics.roc_auc_score(y_test, proba_test)
print(f"test ROC AUC: {auc:.4f} (101 thresholds), scikit-learn (every threshold) {auc_sklearn:.4f}")

# %%
fig, axes = plt.subplots(1, 3, figsize=(13, 3.8))
ax = axes[0]
for column, name in ((0, "precision"), (1, "recall"), (3, "F1")):
    ax.plot(thresholds, curve_val[:, column], label=name)
ax.axvline(0.5, color="0.6", ls=":", label="t = 0.5")
ax.axvline(chosen, color="k", ls="--", label=f"t = {chosen:.2f} (recall ≥ {required_recall:.0%})")
ax.set(xlabel="threshold t", title="validation: metrics vs threshold", ylim=(0, 1.02))
ax.legend(fontsize=8)
ax = axes[1]
ax.plot(curve_val[:, 1], curve_val[:, 0], ".-", ms=3, label="validation")
ax.plot(curve_test[:, 1], curve_test[:, 0], ".-", ms=3, label="test")
ax.set(xlabel="recall", ylabel="precision", title="precision-recall curve", ylim=(0, 1.02))
ax.legend()
ax = axes[2]
ax.plot(fpr, tpr, ".-", ms=3, label=f"test, AUC {auc:.3f}")
ax.plot([0, 1], [0, 1], ":", color="0.6", label="chance")
ax.set(xlabel="false positive rate", ylabel="true positive rate (recall)", title="ROC curve")
ax.legend()
save_figure(fig, "05_threshold")

# %%
fig, ax = plt.subplots(figsize=(6, 3.4))
bins = np.linspace(0, 1, 26)
ax.hist(proba_test[y_test == 0], bins=bins, alpha=0.6, label="benign")
ax.hist(proba_test[y_test == 1], bins=bins, alpha=0.6, label="malignant")
ax.axvline(0.5, color="0.6", ls=":")
ax.axvline(chosen, color="k", ls="--")
ax.set(xlabel="predicted P(malignant)", ylabel="test patients", yscale="log",
       title="where the threshold cuts the test predictions")
ax.legend()
save_figure(fig, "05_probabilities")

# %% [markdown]
# Most patients get a probability near 0 or 1; the errors are the few in the
# middle, and moving the threshold decides which side of the line they fall on.
# The validation set is small (114 patients, 42 malignant), so the threshold it
# picks is itself uncertain: with more data one would choose it by
# cross-validation.
#
# ## Exercises
#
# **Exercise 1.** Skip the standardisation (train on `x_train` directly). What happens to
# the training loss, and why does Adam cope better than SGD would?
#
# <details markdown="1"><summary>Hint</summary>
#
# Compare `losses_logistic` for both runs. The gradient along a weight scales
# with its feature, and the curvature with its square: *mean area* (hundreds)
# against *mean smoothness* (about 0.1) gives a factor near $10^4$ in the
# gradient and $10^8$ in the curvature, so no single SGD learning rate suits
# both. Adam divides each weight's step by the running size of its own
# gradient, which undoes much of the difference.
#
# </details>
#
# **Exercise 2.** Instead of moving the threshold, weight the positive class in the loss:
# `F.binary_cross_entropy_with_logits(..., pos_weight=mg.tensor([3.0]))`. How do
# precision and recall at $t = 0.5$ change?
#
# <details markdown="1"><summary>Hint</summary>
#
# `pos_weight` $\pi$ multiplies the positive term:
# $\ell = \pi\,y \operatorname{softplus}(-z) + (1-y)\operatorname{softplus}(z)$. A missed
# cancer then costs three times as much, so the model moves its logits up:
# recall rises, precision falls, much like a lower threshold.
#
# </details>
#
# **Exercise 3.** Choose the threshold that maximises F1 on the validation set. Is it close
# to 0.5?
#
# <details markdown="1"><summary>Hint</summary>
#
# `thresholds[curve_val[:, 3].argmax()]`. Then evaluate it once on the test set.
#
# </details>
#
# **Exercise 4.** Standardise with the mean and standard deviation of *all* 569 patients
# instead of the training ones. Does the test accuracy change? Why is it still wrong?
#
# <details markdown="1"><summary>Hint</summary>
#
# Here the effect is small (the statistics of 341 and 569 patients are close),
# which is exactly why leakage goes unnoticed. It matters when the test data
# differ from the training data, e.g. come from another hospital or a later year.
#
# </details>

# %% [markdown]
# ## What this chapter showed (checked when it runs)

# %%
accuracy_floor, f1_floor = fast_or_full((0.90, 0.85), (0.95, 0.93))
assert np.abs(z_train.mean(axis=0)).max() < 1e-4 and np.allclose(z_train.std(axis=0), 1, atol=1e-4)
assert grad_two_step[0] == 0.0 and abs(grad_logits[0] - 1) < 1e-6, "the two-step gradient vanishes"
assert np.allclose(grad_logits, grad_formula, atol=1e-6), "d BCE / dz = σ(z) - y"
assert abs(with_logits.numpy()[0] - 30) < 1e-4 and two_step.numpy()[0] == 100, "the clamp vs the exact loss"
assert losses_logistic[-1] < initial_loss / 5, "the training loss falls by a factor of 5 or more"
assert report_logistic["accuracy"] >= accuracy_floor, report_logistic
assert report_logistic["f1"] >= f1_floor, report_logistic
assert report_logistic["accuracy"] > 1 - y_test.mean() + 0.2, "far above the always-benign baseline"
assert agreement >= 0.95, "minigrad's and scikit-learn's logistic regressions agree"
assert metrics_agree, "minigrad.metrics matches sklearn.metrics"
assert chosen <= 0.5 and report_chosen["recall"] >= report_logistic["recall"], "a lower t finds more"
assert np.all(np.diff(curve_test[:, 1]) <= 0), "recall never rises with the threshold"
assert abs(auc - auc_sklearn) < 0.02 and auc > 0.95
print(f"chapter 5: all checks passed (test accuracy {report_logistic['accuracy']:.2%}, "
      f"F1 {report_logistic['f1']:.3f})")
