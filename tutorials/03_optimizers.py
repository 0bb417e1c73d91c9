# %% [markdown]
# # 3. Optimizers
#
# **What you will build.** You will watch six optimizers (gradient descent, SGD,
# momentum, Nesterov, AdaGrad, RMSprop, Adam) walk across two classic 2-D loss
# surfaces: an ill-conditioned quadratic, where plain gradient descent zig-zags,
# and Rosenbrock's banana-shaped valley. Each one is `minigrad.optim` acting on a
# 2-element `Parameter`, so what you see is exactly what trains a network.
# Then you will train the same small MLP with each of them and compare.
#
# The full update rules, with their papers, are in the math reference
# (*Optimizers* page); here are the ideas.

# %%
import numpy as np
from _common import FAST, fast_or_full, plt, save_figure, seed

import minigrad as mg
import minigrad.nn.functional as F
from minigrad import nn, optim

rng = seed(0)
print("fast mode" if FAST else "full mode")

# %% [markdown]
# ## Six update rules
#
# With $g_t = \nabla L(\theta_t)$ and learning rate $\eta$:
#
# * **Gradient descent** (Cauchy, 1847): $\theta \leftarrow \theta - \eta\, g$.
#   **SGD** (Robbins & Monro, 1951) is the same step with a *noisy* gradient,
#   estimated on a random mini-batch.
# * **Momentum** (Polyak, 1964): $b \leftarrow \mu b + g$, $\theta \leftarrow \theta - \eta\, b$.
#   The velocity $b$ averages past gradients: consistent directions speed up,
#   oscillations cancel. **Nesterov** (1983; Sutskever et al., 2013) steps with
#   $g + \mu b$, a look-ahead.
# * **AdaGrad** (Duchi, Hazan & Singer, 2011): $G \leftarrow G + g \odot g$,
#   $\theta \leftarrow \theta - \eta\, g / (\sqrt{G} + \varepsilon)$: a step size per
#   coordinate that shrinks where gradients have been large.
# * **RMSprop** (Hinton, 2012): the same with a moving average
#   $v \leftarrow \alpha v + (1-\alpha)\, g \odot g$, so steps do not vanish.
# * **Adam** (Kingma & Ba, 2015): momentum on $g$ *and* RMSprop's $v$, both
#   bias-corrected because they start at zero:
#
# $$m \leftarrow \beta_1 m + (1-\beta_1) g,\quad v \leftarrow \beta_2 v + (1-\beta_2) g\odot g,\quad
#   \theta \leftarrow \theta - \eta\,\frac{m/(1-\beta_1^t)}{\sqrt{v/(1-\beta_2^t)} + \varepsilon}.$$

# %% [markdown]
# ## Two loss surfaces
#
# The **ill-conditioned quadratic** $L(x, y) = \frac12(x^2 + 25\,y^2)$ is 25 times
# steeper along $y$ than along $x$ (condition number 25). Gradient descent must
# take $\eta < 2/25$ to stay stable along $y$, and then crawls along $x$.
#
# **Rosenbrock's function** (1960) $L(x, y) = (1-x)^2 + 100\,(y - x^2)^2$ has its
# minimum at $(1, 1)$ at the end of a long, flat, curved valley.

# %%
def quadratic(x, y):
    return 0.5 * (x * x + 25 * y * y)


def rosenbrock(x, y):
    return (1 - x) ** 2 + 100 * (y - x * x) ** 2


SURFACES = {
    "quadratic": dict(fn=quadratic, start=(-9.0, 1.5), minimum=(0.0, 0.0), box=(-10, 4, -2.5, 2.5)),
    "rosenbrock": dict(fn=rosenbrock, start=(-1.5, 2.0), minimum=(1.0, 1.0), box=(-2, 2, -1, 3)),
}

# name -> how to build it, per surface (learning rates chosen so that each is near its best)
OPTIMIZERS = {
    "GD": lambda p, s: optim.SGD(p, lr={"quadratic": 0.07, "rosenbrock": 1e-3}[s]),
    "SGD (noisy)": lambda p, s: optim.SGD(p, lr={"quadratic": 0.07, "rosenbrock": 1e-3}[s]),
    "momentum": lambda p, s: optim.SGD(p, lr={"quadratic": 0.1, "rosenbrock": 1e-3}[s],
                                       momentum={"quadratic": 0.5, "rosenbrock": 0.9}[s]),
    "Nesterov": lambda p, s: optim.SGD(p, lr={"quadratic": 0.05, "rosenbrock": 1e-3}[s],
                                       momentum={"quadratic": 0.5, "rosenbrock": 0.9}[s], nesterov=True),
    "AdaGrad": lambda p, s: optim.Adagrad(p, lr={"quadratic": 1.5, "rosenbrock": 0.5}[s]),
    "RMSprop": lambda p, s: optim.RMSprop(p, lr={"quadratic": 0.05, "rosenbrock": 0.01}[s]),
    "Adam": lambda p, s: optim.Adam(p, lr={"quadratic": 0.3, "rosenbrock": 0.05}[s]),
}
GRADIENT_NOISE = 1.0  # std of the noise added to the gradient for "SGD (noisy)"


def trajectory(surface: str, name: str, steps: int) -> np.ndarray:
    """Optimize the 2-element parameter (x, y) on a surface; returns the (steps + 1, 2) path."""
    spec = SURFACES[surface]
    point = nn.Parameter(mg.tensor(spec["start"], dtype=mg.float64))
    optimizer = OPTIMIZERS[name]([point], surface)
    path = [point.numpy().copy()]
    for _ in range(steps):
        optimizer.zero_grad()
        spec["fn"](point[0], point[1]).backward()
        if name.startswith("SGD"):  # a mini-batch gradient: right on average, noisy each step
            point.grad.data += GRADIENT_NOISE * rng.standard_normal(2)
        optimizer.step()
        path.append(point.numpy().copy())
    return np.array(path)


steps = fast_or_full(500, 3000)
paths = {s: {name: trajectory(s, name, steps) for name in OPTIMIZERS} for s in SURFACES}


def steps_to_reach(surface: str, name: str, tol: float = 1e-3) -> float:
    """The first step at which the path is within ``tol`` of the minimum (inf if never)."""
    distances = np.linalg.norm(paths[surface][name] - SURFACES[surface]["minimum"], axis=1)
    close = np.flatnonzero(distances < tol)
    return float(close[0]) if close.size else np.inf


for surface, by_name in paths.items():
    print(f"{surface}: distance to the minimum after {steps} steps, steps to get within 1e-3")
    for name, path in by_name.items():
        distance = np.linalg.norm(path[-1] - SURFACES[surface]["minimum"])
        print(f"  {name:12s} {distance:9.2e}   {steps_to_reach(surface, name):6.0f}")

# %%
fig, axes = plt.subplots(1, 2, figsize=(13, 5))
for ax, (surface, by_name) in zip(axes, paths.items()):
    spec = SURFACES[surface]
    x0, x1, y0, y1 = spec["box"]
    gx, gy = np.meshgrid(np.linspace(x0, x1, 300), np.linspace(y0, y1, 300))
    ax.contour(gx, gy, np.log1p(spec["fn"](gx, gy)), levels=25, cmap="Greys", linewidths=0.6)
    for name, path in by_name.items():
        ax.plot(path[:, 0], path[:, 1], ".-", ms=2, lw=1, label=name, alpha=0.85)
    ax.plot(*spec["minimum"], "r*", ms=14)
    ax.plot(*spec["start"], "ko")
    ax.set(xlim=(x0, x1), ylim=(y0, y1), title=f"{surface}: {steps} steps", xlabel="x", ylabel="y")
axes[1].legend(loc="lower right", fontsize=8)
save_figure(fig, "03_trajectories")

# %%
fig, axes = plt.subplots(1, 2, figsize=(12, 3.8))
for ax, (surface, by_name) in zip(axes, paths.items()):
    fn = SURFACES[surface]["fn"]
    for name, path in by_name.items():
        ax.semilogy(fn(path[:, 0], path[:, 1]) + 1e-12, label=name)
    ax.set(title=f"{surface}: loss per step", xlabel="step", ylabel="L")
axes[0].legend(fontsize=8)
save_figure(fig, "03_surface_losses")

# %% [markdown]
# What to look for:
#
# * On the quadratic, **GD** zig-zags across the steep $y$ direction and creeps
#   along $x$; **momentum** and **Nesterov** build up speed along $x$. The adaptive
#   methods (**AdaGrad, RMSprop, Adam**) rescale each coordinate by its own gradient
#   size, so the conditioning barely matters to them.
# * On Rosenbrock, GD and SGD need a tiny learning rate to survive the steep walls
#   and then inch along the valley floor; momentum carries the velocity along the
#   curve. **SGD**'s path is ragged: the noise of mini-batch gradients, which
#   training tolerates because it averages out over steps.
#
# ## On a real model: a small MLP
#
# Now the same optimizers train a 2-64-64-2 MLP on scikit-learn's *two moons*
# (two interleaved half circles, not linearly separable), with mini-batches
# of 32 and cross-entropy loss. Each optimizer gets its usual learning rate.

# %%
def two_moons(n: int, noise: float = 0.15):
    try:
        from sklearn.datasets import make_moons
    except ImportError:  # without the tutorials extra: the same shape, drawn by hand
        t = rng.uniform(0, np.pi, n)
        label = rng.integers(0, 2, n)
        x = np.where(label[:, None] == 0, np.c_[np.cos(t), np.sin(t)],
                     np.c_[1 - np.cos(t), 0.5 - np.sin(t)])
        return x + noise * rng.standard_normal((n, 2)), label
    return make_moons(n_samples=n, noise=noise, random_state=0)


x_all, y_all = two_moons(fast_or_full(400, 2000))
x_all = (x_all - x_all.mean(0)) / x_all.std(0)
n_train = len(x_all) * 3 // 4
X_train, Y_train = mg.tensor(x_all[:n_train]), mg.tensor(y_all[:n_train])
X_test, Y_test = mg.tensor(x_all[n_train:]), mg.tensor(y_all[n_train:])

MLP_OPTIMIZERS = {
    "SGD": lambda p: optim.SGD(p, lr=0.05),
    "momentum": lambda p: optim.SGD(p, lr=0.05, momentum=0.9),
    "Nesterov": lambda p: optim.SGD(p, lr=0.05, momentum=0.9, nesterov=True),
    "AdaGrad": lambda p: optim.Adagrad(p, lr=0.05),
    "RMSprop": lambda p: optim.RMSprop(p, lr=1e-3),
    "Adam": lambda p: optim.Adam(p, lr=3e-3),
}


def train_mlp(make_optimizer, epochs: int, batch_size: int = 32):
    seed(1)  # the same initial weights and batch order for every optimizer
    model = nn.Sequential(nn.Linear(2, 64), nn.ReLU(), nn.Linear(64, 64), nn.ReLU(), nn.Linear(64, 2))
    optimizer = make_optimizer(model.parameters())
    order_rng = np.random.default_rng(1)
    losses = []
    for _ in range(epochs):
        order = order_rng.permutation(n_train)
        for start in range(0, n_train, batch_size):
            idx = order[start:start + batch_size]
            loss = F.cross_entropy(model(X_train[idx]), Y_train[idx])
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            losses.append(loss.item())
    with mg.no_grad():
        accuracy = (model(X_test).argmax(dim=1).numpy() == Y_test.numpy()).mean()
    return np.array(losses), float(accuracy)


epochs = fast_or_full(15, 60)
mlp_results = {name: train_mlp(make, epochs) for name, make in MLP_OPTIMIZERS.items()}
for name, (losses, accuracy) in mlp_results.items():
    print(f"{name:9s} final loss {losses[-20:].mean():.4f}   test accuracy {accuracy:.3f}")

# %%
fig, ax = plt.subplots(figsize=(8, 4))
for name, (losses, accuracy) in mlp_results.items():
    smooth = np.convolve(losses, np.ones(10) / 10, mode="valid")
    ax.semilogy(smooth, label=f"{name} (test acc. {accuracy:.2f})")
ax.set(xlabel="mini-batch step", ylabel="training loss (moving average)",
       title=f"2-64-64-2 MLP on two moons, {epochs} epochs")
ax.legend(fontsize=8)
save_figure(fig, "03_mlp_losses")

# %% [markdown]
# Plain SGD is the slowest to start; momentum, RMSprop and Adam reach a low loss in a
# fraction of the steps. Adam's defaults work across many problems without
# tuning, which is why it is the usual first choice; well-tuned SGD with momentum
# is still common for large vision models.
#
# ## Exercises
#
# **Exercise 1.** Raise GD's learning rate on the quadratic from 0.07 to 0.081. What happens, and why
# exactly there?
#
# <details markdown="1"><summary>Hint</summary>
#
# Along $y$ the update is $y \leftarrow (1 - 25\eta)\,y$: it diverges once $|1 - 25\eta| > 1$,
# that is $\eta > 2/25 = 0.08$.
#
# </details>
#
# **Exercise 2.** Run Adam on Rosenbrock with `betas=(0.0, 0.999)` (no momentum). Compare with RMSprop.
#
# <details markdown="1"><summary>Hint</summary>
#
# With $\beta_1 = 0$, Adam is RMSprop with bias correction of $v$.
#
# </details>
#
# **Exercise 3.** Train the MLP with `optim.AdamW(model.parameters(), lr=3e-3, weight_decay=0.1)` and
# look at the norm of the weights at the end compared with Adam.
#
# <details markdown="1"><summary>Hint</summary>
#
# `sum((p.numpy() ** 2).sum() for p in model.parameters())`; return the model from `train_mlp`.
#
# </details>

# %% [markdown]
# ## What this chapter showed (checked when it runs)

# %%
def distance(surface, name):
    return np.linalg.norm(paths[surface][name][-1] - SURFACES[surface]["minimum"])


assert steps_to_reach("quadratic", "momentum") < steps_to_reach("quadratic", "GD") / 2, "momentum beats GD"
assert steps_to_reach("quadratic", "Adam") < steps, "Adam ignores the conditioning"
assert distance("rosenbrock", "momentum") < distance("rosenbrock", "GD"), "momentum follows the valley"
assert distance("rosenbrock", "Adam") < distance("rosenbrock", "GD")
assert all(np.isfinite(path).all() for by_name in paths.values() for path in by_name.values())
early = 3 * (n_train // 32)  # the first three epochs
sgd_loss, adam_loss = mlp_results["SGD"][0][:early].mean(), mlp_results["Adam"][0][:early].mean()
assert adam_loss < sgd_loss, "Adam trains the MLP faster than plain SGD"
assert mlp_results["Adam"][1] >= fast_or_full(0.9, 0.95), "the MLP separates the moons"
print("chapter 3: all checks passed")
