# %% [markdown]
# # 10. Gradient checking (for instructors)
#
# **What you will build.** A new differentiable op, *softplus*, as a minigrad
# `Function` with its hand-written backward; a test that proves the backward
# right with `minigrad.gradcheck`; and a deliberately broken op that the check
# catches (one whose bug a naive check misses). At the end: the test file you
# can hand out as an exercise, and how to run one chapter's tests.

# %%
import importlib.util
import os
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path

import numpy as np
from _common import FAST, plt, save_figure, seed

import minigrad as mg
from minigrad.backend import get_array_module

rng = seed(0)
print("fast mode" if FAST else "full mode")

# %% [markdown]
# ## What `gradcheck` compares
#
# For a function $f$ with output $y = f(x)$, `minigrad.gradcheck(f, [x])` draws a
# fixed random "upstream gradient" $r$ of the output's shape and compares, for
# every element $x_i$ of every input,
#
# $$\underbrace{\frac{\partial}{\partial x_i}\sum_j r_j\,f(x)_j}_{\text{one backward with grad } r}
# \quad\text{and}\quad
# \underbrace{\frac{\sum_j r_j f(x+\varepsilon e_i)_j - \sum_j r_j f(x-\varepsilon e_i)_j}{2\varepsilon}}_{\text{central difference}} .$$
#
# An element passes when $|a - n| \le \text{atol} + \text{rtol}\,|n|$ with the
# defaults $\varepsilon = 10^{-6}$, atol $= 10^{-5}$, rtol $= 10^{-3}$.
#
# * **Why central differences:** their error is $O(\varepsilon^2)$, the one-sided
#   $\frac{f(x+\varepsilon) - f(x)}{\varepsilon}$ is $O(\varepsilon)$ (chapter 1).
# * **Why float64:** the difference of two nearly equal numbers keeps only the
#   digits they do not share. With $\varepsilon = 10^{-6}$ in float32 (7 significant
#   digits) almost nothing is left, so `gradcheck` refuses float32 inputs.
# * **Why a random $r$:** checking `f(x).sum()` sends a gradient of all ones back,
#   and a backward that forgets to multiply by the incoming gradient looks right.
#   A random $r$ exposes it (see the broken op below).

# %%
x32 = mg.randn(4, requires_grad=True)
try:
    mg.gradcheck(lambda x: x.tanh(), [x32])
except TypeError as error:
    print("float32 refused:", error)

x = mg.randn(3, 4, dtype=mg.float64, requires_grad=True)
print("tanh passes:", mg.gradcheck(lambda x: x.tanh(), [x]))

# %% [markdown]
# ## A new op: softplus
#
# Softplus (Dugas et al., 2001) is a smooth ReLU:
#
# $$\operatorname{softplus}(x) = \log(1 + e^{x}), \qquad
#   \frac{d}{dx}\operatorname{softplus}(x) = \frac{e^{x}}{1+e^{x}} = \sigma(x).$$
#
# Computed literally, $e^{x}$ overflows for $x > 88$ in float32. The stable form
# splits off the large part: $\log(1+e^{x}) = \max(x, 0) + \log(1 + e^{-|x|})$,
# where the exponent is never positive. The backward multiplies the incoming
# gradient $g = \partial L/\partial y$ by the local derivative $\sigma(x)$,
# written as $\frac12(1 + \tanh\frac x2)$, which cannot overflow either.
#
# A minigrad op is a `Function` subclass: `forward` receives arrays (NumPy or
# CuPy: ask `get_array_module` which, never call `np.` on the data) and saves
# what backward needs on `self`; `backward` returns one gradient per input.
# `Softplus.apply(t)` runs it on tensors and records it in the graph.
# minigrad's own softplus (with PyTorch's `beta` and `threshold`) has this backward in
# `Softplus.backward` in `minigrad/ops/activation.py`: read it after the exercise.

# %%
class Softplus(mg.Function):
    """softplus(x) = log(1 + exp(x)); derivative sigmoid(x)."""

    def forward(self, x):
        xp = get_array_module(x)
        self.x = x
        return xp.maximum(x, 0) + xp.log1p(xp.exp(-xp.abs(x)))

    def backward(self, g):
        xp = get_array_module(g)
        return g * 0.5 * (1 + xp.tanh(0.5 * self.x))


def softplus(x):
    return Softplus.apply(x)


x = mg.randn(3, 4, dtype=mg.float64, requires_grad=True)
print("softplus passes gradcheck:", mg.gradcheck(softplus, [x]))
print("no overflow at 1000:", softplus(mg.tensor([1000.0, -1000.0])))

# %% [markdown]
# ## A broken op that gradcheck catches
#
# Here is $x^3$ with a classic bug: the backward returns the local derivative
# $3x^2$ but forgets to multiply by the incoming gradient $g$. A naive check
# that calls `.sum().backward()` (so $g = 1$) cannot see it; `gradcheck`, whose
# $r$ is random, reports the input, the element and both values.

# %%
class BrokenCube(mg.Function):
    """x**3, with the chain rule forgotten in backward (on purpose)."""

    def forward(self, x):
        self.x = x
        return x**3

    def backward(self, g):
        return 3 * self.x**2  # BUG: should be g * 3 * self.x**2


x = mg.randn(3, 4, dtype=mg.float64, requires_grad=True)
BrokenCube.apply(x).sum().backward()
naive_ok = np.allclose(x.grad.numpy(), 3 * x.numpy() ** 2)
print("naive check with .sum():", "passes (the bug is invisible)" if naive_ok else "fails")

try:
    mg.gradcheck(BrokenCube.apply, [x])
    caught = None
except mg.GradcheckError as error:
    caught = str(error)
print(caught)

# %% [markdown]
# The plot shows, for every element, the distance between the analytic and the
# numerical gradient against the tolerance: the correct softplus sits ten orders
# of magnitude below it, the broken cube far above. (The numerical derivative in
# the left panel is the same central difference, vectorised because softplus is
# elementwise.)

# %%
def elementwise_gaps(fn, x, r, eps=1e-6):
    """|analytic - numerical| of the gradient of sum(r * fn(x)), for an elementwise fn."""
    t = mg.tensor(x, requires_grad=True)
    fn(t).backward(r)
    with mg.no_grad():
        numerical = r * (fn(mg.tensor(x + eps)).numpy() - fn(mg.tensor(x - eps)).numpy()) / (2 * eps)
    return np.abs(t.grad.numpy() - numerical), numerical


grid = np.linspace(-4, 4, 41)
r = rng.standard_normal(grid.shape)
gaps_softplus, numerical_softplus = elementwise_gaps(softplus, grid, r)
gaps_broken, numerical_broken = elementwise_gaps(BrokenCube.apply, grid, r)

fig, (left, right) = plt.subplots(1, 2, figsize=(10, 3.8))
dense = np.linspace(-4, 4, 200)
left.plot(dense, softplus(mg.tensor(dense)).numpy(), label="softplus(x)")
left.plot(dense, 1 / (1 + np.exp(-dense)), label="backward: σ(x)")
left.plot(grid, numerical_softplus / r, "k.", label="central differences")
left.plot(dense, np.maximum(dense, 0), ":", color="0.5", label="relu(x)")
left.set(xlabel="x", title="softplus and its derivative", ylim=(-0.5, 4.5))
left.legend()
right.semilogy(grid, gaps_softplus + 1e-18, "o", ms=4, label="softplus (correct)")
right.semilogy(grid, gaps_broken, "s", ms=4, label="cube (broken backward)")
right.semilogy(grid, 1e-5 + 1e-3 * np.abs(numerical_broken), "k--", lw=1, label="tolerance (cube)")
right.set(xlabel="x", ylabel="|analytic - numerical|", title="what gradcheck measures")
right.legend(fontsize=8)
save_figure(fig, "10_gradcheck")

# %% [markdown]
# ## The test an instructor hands out
#
# Students implement the op; the test file checks it. One gradcheck per input
# shape class (a scalar, a vector, a batch, extreme values) is enough; keep the
# shapes small, since the numerical side costs two forward passes per element.
# The chapter marker (`pytestmark`) lets students run just this chapter's tests.
# Below, the chapter writes the file to a temporary folder and runs pytest on it.

# %%
TEMPLATE_TEST = textwrap.dedent('''
    """Exercise: implement Softplus.forward and Softplus.backward so that these tests pass."""
    import pytest

    import minigrad as mg
    from softplus_solution import softplus

    pytestmark = pytest.mark.gradcheck


    @pytest.mark.parametrize("shape", [(), (5,), (2, 3)])
    def test_softplus_backward_matches_finite_differences(shape):
        x = mg.randn(*shape, dtype=mg.float64, requires_grad=True)
        assert mg.gradcheck(softplus, [x])


    def test_softplus_is_stable_for_large_inputs():
        y = softplus(mg.tensor([1000.0, -1000.0]))
        assert y.numpy().tolist() == [1000.0, 0.0]


    def test_softplus_gradient_at_extremes():
        x = mg.tensor([-50.0, 0.0, 50.0], dtype=mg.float64, requires_grad=True)
        assert mg.gradcheck(softplus, [x])
''')

SOLUTION = textwrap.dedent('''
    import minigrad as mg
    from minigrad.backend import get_array_module


    class Softplus(mg.Function):
        def forward(self, x):
            xp = get_array_module(x)
            self.x = x
            return xp.maximum(x, 0) + xp.log1p(xp.exp(-xp.abs(x)))

        def backward(self, g):
            xp = get_array_module(g)
            return g * 0.5 * (1 + xp.tanh(0.5 * self.x))


    def softplus(x):
        return Softplus.apply(x)
''')


def run_template_tests() -> int:
    """Run the template test against the solution; returns pytest's exit code (0 = passed)."""
    with tempfile.TemporaryDirectory() as folder:
        Path(folder, "test_softplus.py").write_text(TEMPLATE_TEST)
        Path(folder, "softplus_solution.py").write_text(SOLUTION)
        command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                   "-o", "markers=gradcheck", "-m", "gradcheck", folder]
        env = dict(os.environ, PYTHONPATH=folder)
        result = subprocess.run(command, cwd=folder, env=env, capture_output=True, text=True)
        print(result.stdout.strip().splitlines()[-1])
        return result.returncode


if importlib.util.find_spec("pytest") is not None:
    template_exit_code = run_template_tests()
else:  # a student install without the dev tools
    print("pytest is not installed: pip install -e '.[dev]' to run the template")
    template_exit_code = 0

# %% [markdown]
# ## Running one chapter's tests
#
# Every test module of minigrad declares its chapter (`pytestmark = pytest.mark.cnn`,
# ...), and the tutorials carry their chapter's marker too. From the repository root:
#
# | what | command |
# | --- | --- |
# | this chapter (its tutorial, the gradcheck tests) | `.venv/bin/python -m pytest -m gradcheck` |
# | chapter 6 without the slow full-mode tutorial | `.venv/bin/python -m pytest -m "cnn and not slow"` |
# | all fast tests | `.venv/bin/python -m pytest -m "not slow"` |
# | one test file | `.venv/bin/python -m pytest tests/test_ops_gradcheck.py` |
#
# The markers are declared in `pyproject.toml` and pytest runs with
# `--strict-markers`, so a typo in a marker name is an error, not a silently
# empty selection.
#
# ## Exercises
#
# **Exercise 1.** Write `Cube` correctly and check it with `gradcheck`.
#
# <details markdown="1"><summary>Hint</summary>
#
# `return g * 3 * self.x**2`. Then `mg.gradcheck(Cube.apply, [x])` with a float64 `x`.
#
# </details>
#
# **Exercise 2.** Write a two-input op `Hypot` ($\sqrt{a^2+b^2}$) whose inputs broadcast, and check it
# with `a` of shape `(3, 1)` and `b` of shape `(4,)`.
#
# <details markdown="1"><summary>Hint</summary>
#
# Set `broadcasts = True` and return `(g * a / y, g * b / y)` in the broadcast
# shape: the engine sums them back to each input's shape (chapter 1).
#
# </details>
#
# **Exercise 3.** Why does `gradcheck` on `relu` fail for an input of exactly 0, and why is that
# not a bug in `relu`?
#
# <details markdown="1"><summary>Hint</summary>
#
# relu has no derivative at 0: the central difference gives $\frac12$, the
# backward uses the subgradient 0 (`ReLU.backward` in `minigrad/ops/elementwise.py`).
# Test away from kinks.
#
# </details>

# %% [markdown]
# ## What this chapter showed (checked when it runs)

# %%
assert mg.gradcheck(softplus, [mg.randn(2, 3, dtype=mg.float64, requires_grad=True)])
assert naive_ok, "the broken op fools a check with an all-ones upstream gradient"
assert caught is not None and "gradient mismatch" in caught, "gradcheck catches it"
assert gaps_softplus.max() < 1e-8 and gaps_broken.max() > 1e-2
assert np.isfinite(softplus(mg.tensor([1000.0])).item())
assert template_exit_code == 0, "the template test passes against the solution"
print("chapter 10: all checks passed")
