# %% [markdown]
# # 2. Linear regression with gradient descent
#
# **What you will build.** A linear model $\hat y = Xw + b$ trained by gradient
# descent on the mean squared error, first for a line (one feature), then for a
# plane (two features). You will derive the gradient by hand, check that
# minigrad's `backward()` computes the same thing, and compare the trained
# weights with the exact least-squares solution from the normal equations.

# %%
import numpy as np
from _common import FAST, fast_or_full, plt, save_figure, seed

import minigrad as mg
import minigrad.nn.functional as F

rng = seed(0)
print("fast mode" if FAST else "full mode")

# %% [markdown]
# ## The data
#
# Points on the line $y = 2.5\,x - 1$ with Gaussian noise of standard deviation
# $0.5$. Gradient descent behaves best when the features are on a scale of about
# one, so $x$ is drawn from $[-2, 2]$.

# %%
n_points = fast_or_full(64, 512)
true_w, true_b, noise = 2.5, -1.0, 0.5
x_line = rng.uniform(-2, 2, size=(n_points, 1))
y_line = true_w * x_line[:, 0] + true_b + noise * rng.standard_normal(n_points)

# %% [markdown]
# ## The model, the loss and its gradient
#
# With $N$ examples stacked in the rows of $X \in \mathbb{R}^{N\times d}$, the
# predictions and the **mean squared error** are
#
# $$\hat y = Xw + b, \qquad
#   L(w, b) = \frac{1}{N}\sum_{i=1}^{N} (\hat y_i - y_i)^2 = \frac{1}{N}\lVert Xw + b - y\rVert^2 .$$
#
# Writing $r = Xw + b - y$ for the residuals, the chain rule gives
#
# $$\frac{\partial L}{\partial w} = \frac{2}{N} X^\top r, \qquad
#   \frac{\partial L}{\partial b} = \frac{2}{N}\sum_i r_i .$$
#
# In minigrad the factor $\frac{2}{N} r$ comes from `Mean.backward` (in
# `minigrad/ops/reduce.py`) and `PowScalar.backward` (in `minigrad/ops/elementwise.py`),
# the $X^\top$ from `MatMul.backward` in `minigrad/ops/linalg.py`; `F.mse_loss`
# does it in one op, `MSELoss.backward` in `minigrad/ops/loss.py`.
#
# **Gradient descent** steps against the gradient with a learning rate $\eta$:
#
# $$w \leftarrow w - \eta\,\frac{\partial L}{\partial w}, \qquad
#   b \leftarrow b - \eta\,\frac{\partial L}{\partial b}.$$
#
# First, check on random weights that `backward()` gives the formula above.

# %%
X = mg.tensor(x_line, dtype=mg.float64)
y = mg.tensor(y_line, dtype=mg.float64)
w = mg.randn(1, dtype=mg.float64, requires_grad=True)
b = mg.zeros(1, dtype=mg.float64, requires_grad=True)

loss = ((X @ w + b - y) ** 2).mean()
loss.backward()

residuals = x_line @ w.numpy() + b.numpy() - y_line
grad_w_by_hand = 2 / n_points * x_line.T @ residuals
grad_b_by_hand = 2 / n_points * residuals.sum()
print("dL/dw: minigrad", w.grad.numpy(), " by hand", grad_w_by_hand)
print("dL/db: minigrad", b.grad.numpy(), " by hand", grad_b_by_hand)
print("the same loss from F.mse_loss:", F.mse_loss(X @ w + b, y).item(), "=", loss.item())

# %% [markdown]
# ## Training: the gradient descent loop
#
# Each step: forward, loss, `backward()`, update the parameters *without*
# recording a graph (`mg.no_grad()`), and reset the gradients, which
# `backward()` would otherwise accumulate (chapter 1).

# %%
def fit(X, y, lr, steps):
    """Gradient descent on the MSE of ``X @ w + b``; returns w, b and the loss per step."""
    w = mg.zeros(X.shape[1], dtype=X.dtype, requires_grad=True)
    b = mg.zeros(1, dtype=X.dtype, requires_grad=True)
    losses = []
    for _ in range(steps):
        loss = F.mse_loss(X @ w + b, y)
        loss.backward()
        with mg.no_grad():
            for p in (w, b):
                p.data -= lr * p.grad.data
                p.grad = None
        losses.append(loss.item())
    return w.numpy().copy(), b.numpy().copy(), np.array(losses)


steps = fast_or_full(150, 500)
w_gd, b_gd, losses_line = fit(X, y, lr=0.1, steps=steps)
print(f"gradient descent: w = {w_gd[0]:.4f}, b = {b_gd[0]:.4f}, final loss {losses_line[-1]:.4f}")

# %% [markdown]
# ## The check: the normal equations
#
# The MSE is a convex quadratic in $(w, b)$, so its minimum is where the gradient
# vanishes. Appending a column of ones to $X$ (call it $A = [X, \mathbf 1]$, with
# $\theta = (w, b)$) and setting $\frac{2}{N}A^\top(A\theta - y) = 0$ gives the
# **normal equations** (Gauss and Legendre, c. 1805):
#
# $$A^\top A\,\theta^\star = A^\top y
#   \quad\Longrightarrow\quad \theta^\star = (A^\top A)^{-1} A^\top y .$$
#
# (`np.linalg.lstsq` solves it without forming the inverse, which is more
# accurate.) Gradient descent should land on $\theta^\star$.

# %%
def closed_form(x, y):
    A = np.hstack([x, np.ones((len(x), 1))])
    theta, *_ = np.linalg.lstsq(A, y, rcond=None)
    return theta[:-1], theta[-1]


w_star, b_star = closed_form(x_line, y_line)
print(f"normal equations: w = {w_star[0]:.4f}, b = {b_star:.4f}")
print(f"true line:        w = {true_w:.4f}, b = {true_b:.4f}")

# %%
fig, (left, right) = plt.subplots(1, 2, figsize=(10, 3.8))
grid = np.linspace(-2, 2, 2)
left.scatter(x_line[:, 0], y_line, s=8, alpha=0.5, label="data")
left.plot(grid, w_gd[0] * grid + b_gd[0], lw=3, color="C1", label="gradient descent")
left.plot(grid, w_star[0] * grid + b_star, "k--", label="normal equations")
left.set(xlabel="x", ylabel="y", title="fitting a line")
left.legend()
loss_star = np.mean((x_line @ w_star + b_star - y_line) ** 2)
right.semilogy(losses_line - loss_star + 1e-16)
right.set(xlabel="step", ylabel="L - L*", title="loss above the optimum")
save_figure(fig, "02_line")

# %% [markdown]
# The loss gap falls on a straight line in the log plot: for a quadratic loss,
# gradient descent converges *linearly*, shrinking the error by a constant
# factor per step. That factor depends on the curvature (the eigenvalues of
# $\frac{2}{N}A^\top A$): chapter 3 shows what happens when they differ a lot.
#
# ## A plane: two features
#
# Nothing changes in the code for $d = 2$: $X$ has two columns and $w$ two entries.
# The data lie near the plane $y = 1.5\,x_1 - 2\,x_2 + 0.5$.

# %%
true_w2, true_b2 = np.array([1.5, -2.0]), 0.5
x_plane = rng.uniform(-2, 2, size=(n_points, 2))
y_plane = x_plane @ true_w2 + true_b2 + noise * rng.standard_normal(n_points)

w_gd2, b_gd2, losses_plane = fit(mg.tensor(x_plane, dtype=mg.float64),
                                 mg.tensor(y_plane, dtype=mg.float64), lr=0.1, steps=steps)
w_star2, b_star2 = closed_form(x_plane, y_plane)
print(f"gradient descent: w = {np.round(w_gd2, 4)}, b = {b_gd2[0]:.4f}")
print(f"normal equations: w = {np.round(w_star2, 4)}, b = {b_star2:.4f}")

# %%
fig = plt.figure(figsize=(10, 4))
ax3d = fig.add_subplot(1, 2, 1, projection="3d")
g1, g2 = np.meshgrid(np.linspace(-2, 2, 10), np.linspace(-2, 2, 10))
ax3d.scatter(x_plane[:, 0], x_plane[:, 1], y_plane, s=5, alpha=0.5)
ax3d.plot_surface(g1, g2, w_gd2[0] * g1 + w_gd2[1] * g2 + b_gd2[0], alpha=0.4, color="C1")
ax3d.set(xlabel="$x_1$", ylabel="$x_2$", zlabel="y", title="the fitted plane")
ax = fig.add_subplot(1, 2, 2)
ax.semilogy(losses_line, label="line")
ax.semilogy(losses_plane, label="plane")
ax.axhline(noise**2, color="k", ls=":", label="noise variance")
ax.set(xlabel="step", ylabel="MSE", title="training loss")
ax.legend()
save_figure(fig, "02_plane")

# %% [markdown]
# Both losses flatten at about the noise variance $0.5^2 = 0.25$: the model
# cannot predict the noise, and the best it can do is the line (or plane) that
# generated the data.
#
# ## Exercises
#
# **Exercise 1.** Try learning rates 0.01, 0.5 and 1.1 for the line. Which one diverges, and why?
#
# <details markdown="1"><summary>Hint</summary>
#
# On a quadratic, gradient descent converges only when $\eta < 2/\lambda_{\max}$,
# where $\lambda_{\max}$ is the largest eigenvalue of the Hessian
# $\frac{2}{N}A^\top A$. Compute it with `np.linalg.eigvalsh`.
#
# </details>
#
# **Exercise 2.** Multiply $x$ by 10 (without changing the learning rate). What happens, and
# how does standardising the features ($x \to (x-\mu)/\sigma$) fix it?
#
# <details markdown="1"><summary>Hint</summary>
#
# Scaling $x$ by 10 scales the curvature along $w$ by 100.
#
# </details>
#
# **Exercise 3.** Replace the hand-written update by `minigrad.optim.SGD([w, b], lr=0.1)`
# with `optimizer.step()` and `optimizer.zero_grad()`: the results must be identical.
#
# <details markdown="1"><summary>Hint</summary>
#
# `fit` creates `w` and `b` itself: build the optimizer right after them.
#
# </details>

# %% [markdown]
# ## What this chapter showed (checked when it runs)

# %%
assert np.allclose(w.grad.numpy(), grad_w_by_hand) and np.allclose(b.grad.numpy(), grad_b_by_hand)
assert np.allclose(w_gd, w_star, atol=1e-3) and abs(b_gd[0] - b_star) < 1e-3, "GD reaches the optimum"
assert np.allclose(w_gd2, w_star2, atol=1e-3) and abs(b_gd2[0] - b_star2) < 1e-3
assert abs(w_star[0] - true_w) < 0.2 and abs(b_star - true_b) < 0.2, "the fit recovers the line"
assert np.all(np.diff(losses_line) <= 1e-12), "the loss never increases at this learning rate"
assert abs(losses_plane[-1] - noise**2) < 0.1
print("chapter 2: all checks passed")
