# %% [markdown]
# # 1. Tensors and autograd
#
# **What you will build.** You will take the derivative of a small function three
# ways (by hand, by finite differences, and with minigrad), then look inside the
# graph that minigrad records while it computes: which `Function` made each
# tensor, in which order `backward()` visits them, why gradients *add up* when a
# tensor is used twice, and how gradients flow back through NumPy broadcasting.
# You will draw that graph with matplotlib.
#
# Run it as a script (`.venv/bin/python tutorials/01_tensors_and_autograd.py`) or as a
# notebook (`.venv/bin/jupytext --to notebook --execute tutorials/01_tensors_and_autograd.py`).

# %%
import heapq

import numpy as np
from _common import FAST, plt, save_figure, seed

import minigrad as mg

rng = seed(0)
print("fast mode" if FAST else "full mode")

# %% [markdown]
# ## A scalar derivative, three ways
#
# Take $f(x) = x^3 + 2x$. **By hand**, the power rule gives
#
# $$f'(x) = 3x^2 + 2, \qquad f'(1.5) = 8.75 .$$
#
# **By finite differences**, nudge $x$ both ways and measure the slope. The
# *central* difference cancels the $f''$ term of the Taylor series, so its error
# shrinks like $\varepsilon^2$ instead of $\varepsilon$:
#
# $$f'(x) \approx \frac{f(x+\varepsilon) - f(x-\varepsilon)}{2\varepsilon}
#   = f'(x) + \frac{\varepsilon^2}{6} f'''(x) + O(\varepsilon^4).$$
#
# **With minigrad**, mark $x$ with `requires_grad=True`, compute $f$, call
# `backward()`: the derivative lands in `x.grad`. In minigrad the two rules used
# here are `PowScalar.backward` ($3x^2$) and `Mul.backward` (the factor 2), both in
# `minigrad/ops/elementwise.py`.

# %%
def f(x):
    return x**3 + 2 * x


x0 = 1.5
by_hand = 3 * x0**2 + 2

eps = 1e-5
by_differences = (f(x0 + eps) - f(x0 - eps)) / (2 * eps)

x = mg.tensor(x0, dtype=mg.float64, requires_grad=True)
y = f(x)
y.backward()
by_minigrad = x.grad.item()

print(f"by hand        {by_hand:.10f}")
print(f"by differences {by_differences:.10f}")
print(f"by minigrad    {by_minigrad:.10f}")

# %% [markdown]
# minigrad's answer is *exact* (up to rounding): it applies the rules of
# differentiation, one op at a time, it does not measure slopes. Finite
# differences are an approximation whose accuracy depends on $\varepsilon$ and on
# the floating point precision. Too large an $\varepsilon$ and the $\varepsilon^2$
# term dominates; too small and the subtraction $f(x+\varepsilon)-f(x-\varepsilon)$
# loses its digits to rounding (error about $u / \varepsilon$, where $u$ is the
# unit roundoff: $6\cdot10^{-8}$ in float32, $1.1\cdot10^{-16}$ in float64).
# The plot shows both regimes, and why chapter 10 checks gradients in float64.

# %%
eps_grid = np.logspace(-12, 0, 49)
errors = {}
for dtype in (np.float32, np.float64):
    xs = dtype(x0)
    e = dtype(eps_grid)
    slopes = (f(xs + e) - f(xs - e)) / (2 * e)
    errors[dtype.__name__] = np.abs(slopes.astype(np.float64) - by_hand)

fig, (left, right) = plt.subplots(1, 2, figsize=(10, 3.8))
grid = np.linspace(-0.5, 2.5, 200)
left.plot(grid, f(grid), label="$f(x) = x^3 + 2x$")
left.plot(grid, f(x0) + by_minigrad * (grid - x0), "--", label=f"tangent, slope {by_minigrad:g}")
left.plot([x0], [f(x0)], "ko")
left.set(xlabel="x", ylabel="f(x)", title="the derivative is the slope of the tangent")
left.legend()
for name, err in errors.items():
    right.loglog(eps_grid, np.maximum(err, 1e-17), ".-", label=name)
right.set(xlabel="step ε", ylabel="|error|", title="central difference error")
right.legend()
save_figure(fig, "01_finite_differences")

best_eps64 = eps_grid[np.argmin(errors["float64"])]
print(f"float64: smallest error {errors['float64'].min():.1e} at eps = {best_eps64:.0e}")
print(f"float32: smallest error {errors['float32'].min():.1e}")

# %% [markdown]
# ## The graph behind a tensor expression
#
# Every op is a `Function` with a `forward` (on arrays) and a `backward` (the
# chain rule for that one op). When an input requires grad, applying a Function
# records it in the output's `grad_fn`, together with its inputs
# (`grad_fn.inputs`). Following `grad_fn` from the output back to the leaves
# walks the whole computation. Here is
#
# $$L = \sum_i \big(\tanh(w\,x_i + b) - t_i\big)^2 ,$$
#
# one neuron and a squared error, with $w$ and $b$ scalars.

# %%
w = mg.tensor(0.5, requires_grad=True)
b = mg.tensor(-0.3, requires_grad=True)
xs = mg.tensor([1.0, 2.0, -1.0])
ts = mg.tensor([0.2, 0.7, -0.4])

z = w * xs + b
h = z.tanh()
L = ((h - ts) ** 2).sum()
print("L =", L)
print("L.grad_fn       :", type(L.grad_fn).__name__)
print("its input       :", L.grad_fn.inputs[0])
print("w, b are leaves :", w.is_leaf, b.is_leaf, "- z is a leaf:", z.is_leaf)

# %% [markdown]
# Each tensor also carries a **generation**: leaves are generation 0, and an
# op's output is one more than its newest input. The drawing below walks
# `grad_fn.inputs` from $L$ and places each tensor in the column of its generation.

# %%
def collect_graph(root):
    """Every tensor reachable from ``root`` through ``grad_fn.inputs``, and the edges."""
    nodes, edges, stack = {id(root): root}, [], [root]
    while stack:
        t = stack.pop()
        if t.grad_fn is None:
            continue
        for parent in t.grad_fn.inputs:
            edges.append((id(parent), id(t)))
            if id(parent) not in nodes:
                nodes[id(parent)] = parent
                stack.append(parent)
    return nodes, edges


def draw_graph(root, names, ax):
    """Draw the graph of ``root``: one column per generation, leaves on the left.

    In each column, the tensors used by the next column sit in the middle and those used
    later (like ``b`` and ``t``) below them, the later the lower. An arrow to the next
    column is straight; an arrow that skips columns runs along its own lane clear of the
    boxes in between (below them, or above for a tensor placed above the middle) and
    turns into its target's bottom (or top), so it never passes behind another box.
    """
    nodes, edges = collect_graph(root)
    first_use = {}  # the generation of each tensor's first consumer
    for src, dst in edges:
        first_use[src] = min(first_use.get(src, nodes[dst]._gen), nodes[dst]._gen)
    columns = {}
    for key, t in nodes.items():
        columns.setdefault(t._gen, []).append(key)
    position = {}
    for gen, keys in columns.items():
        now = sorted((k for k in keys if first_use.get(k, gen + 1) == gen + 1),
                     key=lambda k: names.get(k, ""))
        late = sorted((k for k in keys if k not in now), key=lambda k: (first_use[k], names.get(k, "")))
        for row, key in enumerate(now + late):  # top to bottom, the middle of `now` at y = 0
            position[key] = (gen, (len(now) - 1) / 2 - row)
    ys = [y for _, y in position.values()]
    ax.set_xlim(-0.6, max(columns) + 0.6)
    ax.set_ylim(min(ys) - 0.6, max(ys) + 0.6)
    boxes = {}
    for key, t in nodes.items():
        op = type(t.grad_fn).__name__ if t.grad_fn is not None else "leaf"
        label = f"{names.get(key, '')}\n{op}\nshape {t.shape}"
        color = "#cde4f7" if t.grad_fn is None else "#fde2c8"
        boxes[key] = ax.text(*position[key], label, ha="center", va="center", fontsize=8,
                             bbox=dict(boxstyle="round", fc=color, ec="0.4"), zorder=2)
    # The size of each box in data units, known once the figure is drawn.
    ax.figure.canvas.draw()
    to_data = ax.transData.inverted()
    half = {}
    for key, text in boxes.items():
        (x0, y0), (x1, y1) = to_data.transform(text.get_bbox_patch().get_window_extent())
        half[key] = ((x1 - x0) / 2, (y1 - y0) / 2)

    def arrow(points):
        """A line through ``points`` (data coordinates) with an arrowhead on its last segment."""
        xs, ys = zip(*points)
        ax.plot(xs[:-1], ys[:-1], color="0.4", lw=1, zorder=1)
        ax.annotate("", xy=points[-1], xytext=points[-2], zorder=1,
                    arrowprops=dict(arrowstyle="-|>", color="0.4", shrinkA=0, shrinkB=0))

    lanes = {"below": min(ys), "above": max(ys)}  # the lowest / highest lane used so far
    for src, dst in sorted(edges, key=lambda e: position[e[1]][0]):
        (x0, y0), (x1, y1) = position[src], position[dst]
        start = (x0 + half[src][0], y0)
        if x1 - x0 == 1:
            # into the next column: straight, ending on the target's left side; the inputs of
            # one box end at different heights, in the order of their sources
            inputs = sorted((s for s, d in edges if d == dst and position[s][0] == x0),
                            key=lambda s: -position[s][1])
            share = (inputs.index(src) - (len(inputs) - 1) / 2) / max(len(inputs) - 1, 1)
            arrow([start, (x1 - half[dst][0], y1 - 0.8 * half[dst][1] * share)])
            continue
        # skips columns: find a height clear of every box in the columns in between
        between = [k for k in nodes if x0 < position[k][0] < x1]
        side = "above" if y0 > 0 else "below"
        if side == "below":
            clear = min((position[k][1] - half[k][1] for k in between), default=y1) - 0.25
            lane = y0 if y0 <= clear else min(clear, lanes["below"] - 0.3)
            lanes["below"] = min(lanes["below"], lane)
            end = (x1, y1 - half[dst][1])
        else:
            clear = max((position[k][1] + half[k][1] for k in between), default=y1) + 0.25
            lane = y0 if y0 >= clear else max(clear, lanes["above"] + 0.3)
            lanes["above"] = max(lanes["above"], lane)
            end = (x1, y1 + half[dst][1])
        if lane == y0:  # the source already sits clear of the boxes: along its own row
            arrow([start, (x1, y0), end])
        else:  # out into the gap after the source's column, over to the lane, along it
            arrow([start, (x0 + 0.5, y0), (x0 + 0.5, lane), (x1, lane), end])
    ax.set_xticks(range(max(columns) + 1))
    ax.set_xlabel("generation (leaves = 0)")
    ax.set_yticks([])
    return nodes

names = {id(w): "w", id(b): "b", id(xs): "x", id(ts): "t", id(z): "z", id(h): "h", id(L): "L"}
fig, ax = plt.subplots(figsize=(11, 3.6))
graph_nodes = draw_graph(L, names, ax)
ax.set_title("the graph of L = sum((tanh(w x + b) - t)^2), drawn from grad_fn")
save_figure(fig, "01_graph")
print(f"{len(graph_nodes)} tensors in the graph, deepest generation {L._gen}")

# %% [markdown]
# ## How `backward()` walks the graph
#
# The chain rule says that the gradient of $L$ with respect to a tensor $v$ is
# the **sum** over every tensor $u$ that consumed $v$:
#
# $$\frac{\partial L}{\partial v} = \sum_{u \,\in\, \text{consumers}(v)}
#   \frac{\partial L}{\partial u}\,\frac{\partial u}{\partial v}.$$
#
# So a tensor may pass its gradient further back only once *all* its consumers
# have sent their share. minigrad guarantees it with a heap ordered by
# generation: every consumer of $v$ has a higher generation than $v$, so popping
# the highest generation first finishes all of them before $v$. The loop below is
# the heart of `minigrad/tensor.py` (`_run_backward`), stripped of error checks:
# it computes the same gradients as `L.backward()`.

# %%
def backward_by_hand(root):
    grads = {id(root): np.ones_like(root._data)}  # _data: the raw array inside the Tensor
    heap, order, tie = [(-root._gen, 0, root)], [], 1
    leaf_grads = {}
    while heap:
        _, _, t = heapq.heappop(heap)
        g = grads.pop(id(t))
        order.append(names.get(id(t), type(t.grad_fn).__name__))
        if t.grad_fn is None:
            leaf_grads[id(t)] = g
            continue
        in_grads = t.grad_fn.backward(g)
        in_grads = in_grads if isinstance(in_grads, tuple) else (in_grads,)
        for parent, gp in zip(t.grad_fn.inputs, in_grads):
            if gp is None or not parent.requires_grad:
                continue
            if t.grad_fn.broadcasts:
                gp = mg.unbroadcast(gp, parent.shape)
            if id(parent) in grads:
                grads[id(parent)] = grads[id(parent)] + gp  # another consumer's share
            else:
                grads[id(parent)] = gp
                heapq.heappush(heap, (-parent._gen, tie, parent))
                tie += 1
    return leaf_grads, order


leaf_grads, order = backward_by_hand(L)
print("visit order:", " -> ".join(order))
L.backward()
print(f"dL/dw: by hand {leaf_grads[id(w)]:.6f}, minigrad {w.grad.item():.6f}")
print(f"dL/db: by hand {leaf_grads[id(b)]:.6f}, minigrad {b.grad.item():.6f}")

# %% [markdown]
# After `backward()` the graph is freed (each Function drops its saved arrays),
# so a second `L.backward()` is an error unless the first one passed
# `retain_graph=True`. And gradients **accumulate** in `.grad`, as in PyTorch:
# a second backward adds to the first, which is why training loops call
# `optimizer.zero_grad()`.
#
# Accumulation is also the rule *inside* one backward. Here $a$ is used three
# times, in $y = a \cdot a + a$, so $\partial y/\partial a = 2a + 1$. In minigrad
# the local rules are `Mul.backward` and `Add.backward` in
# `minigrad/ops/elementwise.py`; the engine adds their shares:

# %%
a = mg.tensor(3.0, requires_grad=True)
y = a * a + a
y.backward(retain_graph=True)
print("after one backward :", a.grad.item(), "(2a + 1 = 7)")
y.backward()
print("after two backwards:", a.grad.item(), "(accumulated)")
a.grad = None

# %% [markdown]
# ## Broadcasting and its gradient
#
# NumPy broadcasting copies a tensor along axes of size 1 (and along new
# leading axes). If $b$ of shape $(4,)$ is added to $x$ of shape $(3, 4)$, each
# $b_j$ is used in 3 places, so by the accumulation rule its gradient is the
# **sum over the copies**:
#
# $$y_{ij} = x_{ij} + b_j \quad\Rightarrow\quad
#   \frac{\partial L}{\partial b_j} = \sum_i \frac{\partial L}{\partial y_{ij}}.$$
#
# Ops that broadcast return gradients of the broadcast shape, and the engine
# reduces them with `minigrad.unbroadcast(grad, shape)`, which sums over the
# added leading axes and over the axes where the input had size 1. In minigrad
# this backward is `Add.backward` (and `Mul.backward`) in
# `minigrad/ops/elementwise.py`, whose `broadcasts = True` asks the engine for
# that sum; `unbroadcast` itself is in `minigrad/tensor.py`.

# %%
X = mg.randn(3, 4, requires_grad=True)
bias = mg.randn(4, requires_grad=True)
col = mg.randn(3, 1, requires_grad=True)
out = (X + bias) * col  # (3, 4) + (4,) -> (3, 4); then * (3, 1) -> (3, 4)
upstream = mg.randn(3, 4)
out.backward(upstream)

expected_bias = (upstream.numpy() * col.numpy()).sum(axis=0)
expected_col = (upstream.numpy() * (X.numpy() + bias.numpy())).sum(axis=1, keepdims=True)
print("bias.grad shape", bias.grad.shape, "col.grad shape", col.grad.shape)
print("bias.grad matches the sum over rows   :", np.allclose(bias.grad.numpy(), expected_bias))
print("col.grad matches the sum over columns :", np.allclose(col.grad.numpy(), expected_col))

# %%
fig, axes = plt.subplots(1, 3, figsize=(10, 2.6))
for ax, array, title in zip(axes, [upstream.numpy() * col.numpy(), bias.grad.numpy()[None, :],
                                   col.grad.numpy()],
                            ["dL/d(X+b): shape (3, 4)", "dL/db = column sums: (4,)",
                             "dL/dcol = row sums: (3, 1)"]):
    image = ax.imshow(array, cmap="coolwarm", vmin=-3, vmax=3)
    ax.set_title(title, fontsize=9)
    ax.set_xticks([])
    ax.set_yticks([])
fig.colorbar(image, ax=axes, shrink=0.8)
save_figure(fig, "01_broadcast_gradients")

# %% [markdown]
# ## Exercises
#
# **Exercise 1.** Compute $\frac{d}{dx}\,\sigma(x)$ at $x = 0.3$ with minigrad (`x.sigmoid()`)
# and check it against the formula $\sigma(x)(1-\sigma(x))$.
#
# <details markdown="1"><summary>Hint</summary>
#
# Use a float64 tensor with `requires_grad=True`, call `.backward()` on the
# output, and compare `x.grad.item()` with `s * (1 - s)` where
# `s = 1 / (1 + np.exp(-0.3))`.
#
# </details>
#
# **Exercise 2.** Draw the graph of `(a * b + a).exp()` with `draw_graph`. Which tensor
# receives two gradient contributions during backward?
#
# <details markdown="1"><summary>Hint</summary>
#
# `a` is consumed twice, by the `Mul` and by the `Add`: two arrows leave it.
# Draw **before** calling `backward()`: backward frees the graph.
#
# </details>
#
# **Exercise 3.** What shape does `unbroadcast` produce for a gradient of shape `(5, 3, 4)`
# and an input of shape `(3, 1)`? Check with `mg.unbroadcast(np.ones((5, 3, 4)), (3, 1))`.
#
# <details markdown="1"><summary>Hint</summary>
#
# The leading axis of size 5 is summed away, and so is the last axis
# (size 1 in the input): every element of the result is $5 \cdot 4 = 20$.
#
# </details>

# %% [markdown]
# ## What this chapter showed (checked when it runs)

# %%
assert abs(by_minigrad - by_hand) < 1e-12, "minigrad's derivative is exact"
assert abs(by_differences - by_hand) < 1e-6, "the central difference is close"
assert errors["float64"].min() < 1e-8 < errors["float32"].min(), "float64 beats float32"
assert abs(leaf_grads[id(w)] - w.grad.item()) < 1e-5 and abs(leaf_grads[id(b)] - b.grad.item()) < 1e-5
assert order[0] == "L" and order.index("z") < order.index("w"), "outputs before inputs"
assert len(graph_nodes) == 10
assert bias.grad.shape == (4,) and col.grad.shape == (3, 1)
assert np.allclose(bias.grad.numpy(), expected_bias, atol=1e-5)
assert np.allclose(col.grad.numpy(), expected_col, atol=1e-5)
print("chapter 1: all checks passed")
