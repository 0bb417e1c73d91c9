"""L-BFGS: a quasi-Newton method that needs a closure re-evaluating the loss."""

from __future__ import annotations

import numpy as np

from minigrad import backend
from minigrad.optim.optimizer import Optimizer
from minigrad.tensor import enable_grad, no_grad

__all__ = ["LBFGS"]


class LBFGS(Optimizer):
    r"""L-BFGS (Nocedal, 1980; Liu & Nocedal, 1989), with PyTorch's algorithm
    (``torch.optim.LBFGS``, after Schmidt's minFunc).

    All parameters are treated as one flat vector $x$ with gradient $g$. From the last
    $m$ (``history_size``) steps $s_k = x_{k+1} - x_k$ and gradient changes
    $y_k = g_{k+1} - g_k$ (kept only when the curvature $y_k^\top s_k > 10^{-10}$), the
    *two-loop recursion* computes the direction $d = -H g$ without forming the
    inverse-Hessian estimate $H$, with $\rho_k = 1 / y_k^\top s_k$:

    $$q \leftarrow -g; \quad \text{for } k = \text{newest} \dots \text{oldest}:\
      \alpha_k = \rho_k\, s_k^\top q,\ \ q \leftarrow q - \alpha_k y_k;$$

    $$r \leftarrow \gamma q, \ \ \gamma = \frac{s^\top y}{y^\top y}\ (\text{newest pair}); \quad
      \text{for } k = \text{oldest} \dots \text{newest}:\
      \beta = \rho_k\, y_k^\top r,\ \ r \leftarrow r + (\alpha_k - \beta)\, s_k; \quad d = r.$$

    Then $x \leftarrow x + t\, d$ with $t = \eta$ (on the very first iteration
    $t = \min(1, 1/\lVert g\rVert_1)\,\eta$), or, with ``line_search_fn="strong_wolfe"``,
    a step $t$ satisfying the strong Wolfe conditions
    $f(x + t d) \le f(x) + c_1 t\, g^\top d$ and $|g(x + t d)^\top d| \le c_2 |g^\top d|$
    ($c_1 = 10^{-4}$, $c_2 = 0.9$), found by bracketing and cubic interpolation
    (Nocedal & Wright, *Numerical Optimization*, algorithms 3.5 and 3.6).

    One ``step(closure)`` runs up to ``max_iter`` such iterations and stops early when
    $\max|g| \le$ ``tolerance_grad``, when the step or the change in loss falls below
    ``tolerance_change``, or after ``max_eval`` evaluations of the closure. The closure
    must clear the gradients, compute the loss, call ``backward()`` and return the loss.

    Args:
        params: parameters (one group only: L-BFGS has no per-group options).
        lr: $\eta$, the step length (default 1).
        max_iter: iterations per ``step`` (default 20).
        max_eval: closure evaluations per ``step`` (default ``max_iter * 5 // 4``).
        tolerance_grad: stop when every gradient entry is at most this in magnitude.
        tolerance_change: stop when the loss or the parameters change less than this.
        history_size: $m$, the number of $(s, y)$ pairs kept (default 100).
        line_search_fn: None (fixed step $\eta$) or ``"strong_wolfe"``.

    Example:
        >>> def closure():
        ...     opt.zero_grad()
        ...     loss = loss_fn(model(x), y)
        ...     loss.backward()
        ...     return loss
        >>> opt = optim.LBFGS(model.parameters(), line_search_fn="strong_wolfe")
        >>> opt.step(closure)
    """

    def __init__(self, params, lr: float = 1, max_iter: int = 20, max_eval: int | None = None,
                 tolerance_grad: float = 1e-7, tolerance_change: float = 1e-9,
                 history_size: int = 100, line_search_fn: str | None = None):
        if max_eval is None:
            max_eval = max_iter * 5 // 4
        defaults = dict(lr=lr, max_iter=max_iter, max_eval=max_eval,
                        tolerance_grad=tolerance_grad, tolerance_change=tolerance_change,
                        history_size=history_size, line_search_fn=line_search_fn)
        super().__init__(params, defaults)
        if len(self.param_groups) != 1:
            raise ValueError("LBFGS doesn't support per-parameter options (parameter groups)")
        self._params = self.param_groups[0]["params"]

    def add_param_group(self, param_group: dict) -> None:
        if self.param_groups:
            raise ValueError("LBFGS doesn't support per-parameter options (parameter groups)")
        super().add_param_group(param_group)

    def _validate_group(self, group, where):
        super()._validate_group(group, where)
        for key in ("max_iter", "max_eval", "history_size"):
            value = group[key]
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"LBFGS: {key} must be an integer >= 1, got {value!r} ({where})")
        if group["line_search_fn"] not in (None, "strong_wolfe"):
            raise ValueError(f"LBFGS: line_search_fn must be None or 'strong_wolfe', "
                             f"got {group['line_search_fn']!r} ({where})")

    # ------------------------------------------------------------------ the flat vector
    def _flat_grad(self):
        """All gradients as one new 1-d array (zeros for a parameter without a gradient)."""
        xp = backend.get_array_module(self._params[0]._data)
        return xp.concatenate([
            (p.grad._data if p.grad is not None else xp.zeros_like(p._data)).reshape(-1)
            for p in self._params
        ])

    def _move(self, t: float, d) -> None:
        """x <- x + t d, in place on every parameter."""
        offset = 0
        for p in self._params:
            n = p._data.size
            p._data += t * d[offset:offset + n].reshape(p.shape)
            p._version_counter.value += 1
            offset += n

    def _copy_params(self) -> list:
        return [p._data.copy() for p in self._params]

    def _set_params(self, arrays) -> None:
        for p, array in zip(self._params, arrays):
            p._data[...] = array
            p._version_counter.value += 1

    # ------------------------------------------------------------------ the step
    # Scalars (gᵀd, yᵀs, t, ...) stay NumPy scalars of the parameters' dtype, not Python
    # floats: NumPy's promotion then rounds them as PyTorch rounds its 0-d tensors, so
    # float32 runs take the same line-search and stopping decisions as PyTorch.
    def step(self, closure):
        """Run up to ``max_iter`` L-BFGS iterations; returns the loss at the start."""
        if closure is None:
            raise ValueError("LBFGS.step needs a closure that re-evaluates the loss "
                             "(it evaluates the loss several times per step)")

        def evaluate() -> float:
            with enable_grad():
                return closure()

        with no_grad():
            return self._step(evaluate)

    def _step(self, evaluate):
        group = self.param_groups[0]
        lr, max_iter, max_eval = group["lr"], group["max_iter"], group["max_eval"]
        tol_grad, tol_change = group["tolerance_grad"], group["tolerance_change"]
        history_size = group["history_size"]
        # The state is global; it is kept under the first parameter, as PyTorch does.
        state = self.state[self._params[0]]
        state.setdefault("func_evals", 0)
        state.setdefault("n_iter", 0)

        orig_loss = evaluate()
        loss = float(orig_loss)
        evals = 1
        state["func_evals"] += 1
        g = self._flat_grad()
        converged = abs(g).max() <= tol_grad
        if converged:
            return orig_loss

        d, t = state.get("d"), state.get("t")
        old_dirs, old_stps, ro = state.get("old_dirs"), state.get("old_stps"), state.get("ro")
        h_diag, prev_g, prev_loss = state.get("H_diag"), state.get("prev_flat_grad"), state.get("prev_loss")

        n_iter = 0
        while n_iter < max_iter:
            n_iter += 1
            state["n_iter"] += 1

            # ---- direction
            if state["n_iter"] == 1:
                d = -g
                old_dirs, old_stps, ro = [], [], []
                h_diag = 1.0
            else:
                y = g - prev_g  # change of gradient
                s = d * t  # the last step
                ys = y @ s
                if ys > 1e-10:  # keep the pair only if the curvature is positive
                    if len(old_dirs) == history_size:
                        old_dirs.pop(0)
                        old_stps.pop(0)
                        ro.pop(0)
                    old_dirs.append(y)
                    old_stps.append(s)
                    ro.append(1.0 / ys)
                    h_diag = ys / (y @ y)
                d = _two_loop(g, old_dirs, old_stps, ro, h_diag)
            prev_g = g.copy()
            prev_loss = loss

            # ---- step length
            t = min(1.0, 1.0 / abs(g).sum()) * lr if state["n_iter"] == 1 else lr
            gtd = g @ d  # directional derivative
            if gtd > -tol_change:
                break  # not a descent direction (or too flat to matter)

            ls_evals = 0
            if group["line_search_fn"] == "strong_wolfe":
                x0 = self._copy_params()

                def along(step, d=d, x0=x0):
                    self._move(step, d)
                    f_new = float(evaluate())
                    g_new = self._flat_grad()
                    self._set_params(x0)
                    return f_new, g_new

                # at most the evaluations left in this step's budget (max_eval); as in
                # PyTorch the search keeps its own tolerance_change (1e-9), not the group's
                loss, g, t, ls_evals = _strong_wolfe(along, t, d, loss, g, gtd,
                                                     max_ls=max_eval - evals)
                self._move(t, d)
                converged = abs(g).max() <= tol_grad
            else:
                self._move(t, d)
                if n_iter != max_iter:  # the last iteration's loss would not be used
                    loss = float(evaluate())
                    g = self._flat_grad()
                    converged = abs(g).max() <= tol_grad
                    ls_evals = 1
            evals += ls_evals
            state["func_evals"] += ls_evals

            # ---- stopping tests
            if n_iter == max_iter or evals >= max_eval or converged:
                break
            if abs(d * t).max() <= tol_change:
                break  # the step is too small
            if abs(loss - prev_loss) < tol_change:
                break  # the loss no longer changes

        state.update(d=d, t=t, old_dirs=old_dirs, old_stps=old_stps, ro=ro, H_diag=h_diag,
                     prev_flat_grad=prev_g, prev_loss=prev_loss)
        return orig_loss


def _two_loop(g, old_dirs, old_stps, ro, h_diag):
    """-H g by the two-loop recursion over the stored pairs (s = old_stps, y = old_dirs)."""
    q = -g
    alphas = [0.0] * len(old_dirs)
    for i in reversed(range(len(old_dirs))):
        alphas[i] = (old_stps[i] @ q) * ro[i]
        q -= alphas[i] * old_dirs[i]
    r = q * h_diag
    for i in range(len(old_dirs)):
        beta = (old_dirs[i] @ r) * ro[i]
        r += (alphas[i] - beta) * old_stps[i]
    return r


# ----------------------------------------------------------------------------- line search


def _cubic_minimum(x1, f1, g1, x2, f2, g2, bounds=None) -> float:
    """The minimiser of the cubic through (x1, f1) and (x2, f2) with slopes g1, g2,
    clipped to ``bounds`` (default: the interval between x1 and x2); the interval's
    midpoint when the cubic has no minimum (Nocedal & Wright, eq. 3.59)."""
    lo, hi = bounds if bounds is not None else (min(x1, x2), max(x1, x2))
    d1 = g1 + g2 - 3 * (f1 - f2) / (x1 - x2)
    d2_square = d1 * d1 - g1 * g2
    if not d2_square >= 0:  # no real minimum (or NaN)
        return (lo + hi) / 2.0
    d2 = np.sqrt(d2_square)
    if x1 <= x2:
        x = x2 - (x2 - x1) * ((g2 + d2 - d1) / (g2 - g1 + 2 * d2))
    else:
        x = x1 - (x1 - x2) * ((g1 + d2 - d1) / (g1 - g2 + 2 * d2))
    return min(max(x, lo), hi)


def _strong_wolfe(along, t, d, f, g, gtd, c1=1e-4, c2=0.9, tolerance_change=1e-9, max_ls=25):
    """A step length t along d meeting the strong Wolfe conditions, PyTorch's variant.

    ``along(t)`` returns (loss, flat gradient) at x + t d. Phase 1 grows t until an
    interval [lo, hi] must contain an acceptable point (or t itself is one); phase 2
    ("zoom") shrinks that interval by cubic interpolation. After ``max_ls`` trials
    beyond the first it returns the better of t = 0 and the last trial. A point is a
    tuple (t, f, g, gᵀd). Returns (f, g, t, number of evaluations).
    """
    d_norm = abs(d).max()
    f_new, g_new = along(t)
    evals = 1
    gtd_new = g_new @ d

    def sufficient_decrease(step, value):  # Armijo
        return value <= f + c1 * step * gtd

    def curvature(slope):  # |g(x + t d)ᵀd| <= c2 |gᵀd|
        return abs(slope) <= -c2 * gtd

    # ---- phase 1: bracket
    prev = (0.0, f, g, gtd)
    bracket, done, ls_iter = None, False, 0
    while ls_iter < max_ls:
        new = (t, f_new, g_new, gtd_new)
        if not sufficient_decrease(t, f_new) or (ls_iter > 1 and f_new >= prev[1]):
            bracket = [prev, new]
            break
        if curvature(gtd_new):
            bracket, done = [new], True
            break
        if gtd_new >= 0:  # the slope turned: a minimum lies between prev and t
            bracket = [prev, new]
            break
        # extrapolate: the cubic's minimum, between a little beyond t and 10 t
        t = _cubic_minimum(prev[0], prev[1], prev[3], t, f_new, gtd_new,
                           bounds=(t + 0.01 * (t - prev[0]), t * 10))
        prev = new
        f_new, g_new = along(t)
        evals += 1
        gtd_new = g_new @ d
        ls_iter += 1
    if ls_iter == max_ls:
        bracket = [(0.0, f, g, gtd), (t, f_new, g_new, gtd_new)]

    # ---- phase 2: zoom; bracket[low] is the best point so far
    low, high = (0, 1) if bracket[0][1] <= bracket[-1][1] else (1, 0)
    insufficient_progress = False
    while not done and ls_iter < max_ls:
        (a, fa, _, ga), (b, fb, _, gb) = bracket
        if abs(b - a) * d_norm < tolerance_change:
            break  # the interval is too small to matter
        t = _cubic_minimum(a, fa, ga, b, fb, gb)
        # Keep away from the ends: a trial within 10% of the width of an end
        # twice in a row (or at an end) is moved to 10% inside.
        left, right = min(a, b), max(a, b)
        margin = 0.1 * (right - left)
        if min(right - t, t - left) < margin:
            if insufficient_progress or t >= right or t <= left:
                t = right - margin if abs(t - right) < abs(t - left) else left + margin
                insufficient_progress = False
            else:
                insufficient_progress = True
        else:
            insufficient_progress = False
        f_new, g_new = along(t)
        evals += 1
        gtd_new = g_new @ d
        ls_iter += 1
        new = (t, f_new, g_new, gtd_new)
        if not sufficient_decrease(t, f_new) or f_new >= bracket[low][1]:
            bracket[high] = new  # not better than the best: it closes the interval
            low, high = (0, 1) if bracket[0][1] <= bracket[1][1] else (1, 0)
        else:
            if curvature(gtd_new):
                done = True
            elif gtd_new * (bracket[high][0] - bracket[low][0]) >= 0:
                bracket[high] = bracket[low]  # keep the minimum between the two ends
            bracket[low] = new
    t, f_new, g_new, _ = bracket[low]
    return f_new, g_new, t, evals
