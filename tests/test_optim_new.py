"""Adadelta, Adamax, NAdam, RAdam and LBFGS against NumPy transcriptions of PyTorch's
documented algorithms; PyTorch's ``param_groups``/``state_dict`` structure; validation
of loaded checkpoints; and every optimizer on 0-d, 1-d and n-d parameters.

The references below are written from the pseudo-code in PyTorch's documentation
(``torch.optim.<Name>``, "Algorithm" boxes), in float64, and compared step by step.
"""

import math

import numpy as np
import pytest

import minigrad
from minigrad import nn, optim
from minigrad.optim import lr_scheduler
from minigrad.optim.lbfgs import _strong_wolfe

pytestmark = pytest.mark.optim

# ----------------------------------------------------------------------------- a small problem
# f(θ) = Σ (c ⊙ θ - d)² + 0.1 Σ θ⁴, gradient 2c(cθ - d) + 0.4 θ³, for θ of any shape.
_gen = np.random.default_rng(11)
SHAPES = [(), (3,), (2, 3)]
C = {s: _gen.uniform(0.5, 2.0, size=s) for s in SHAPES}
D = {s: _gen.standard_normal(s) for s in SHAPES}
X0 = {s: _gen.standard_normal(s) for s in SHAPES}


def loss_fn(theta, shape):
    return ((theta * C[shape] - D[shape]) ** 2).sum() + 0.1 * (theta**4).sum()


def grad_fn(theta, shape):
    return 2 * C[shape] * (C[shape] * theta - D[shape]) + 0.4 * theta**3


def minigrad_steps(make_opt, shape=(2, 3), steps=6, dtype=np.float64):
    """θ after each of ``steps`` optimizer steps (autograd gradients)."""
    theta = nn.Parameter(np.asarray(X0[shape], dtype=dtype))
    opt = make_opt([theta])
    out = []
    for _ in range(steps):
        opt.zero_grad()
        loss_fn(theta, shape).backward()
        opt.step()
        out.append(np.array(theta.numpy(), copy=True))
    return out


def reference_steps(update, shape=(2, 3), steps=6):
    theta, state = np.array(X0[shape], dtype=np.float64), {}
    out = []
    for t in range(1, steps + 1):
        theta = update(theta, grad_fn(theta, shape), state, t)
        out.append(np.array(theta, copy=True))
    return out


def assert_same_trajectory(ours, ref, rtol=1e-12, atol=1e-14):
    assert len(ours) == len(ref)
    for step, (a, b) in enumerate(zip(ours, ref), start=1):
        assert a.shape == b.shape
        np.testing.assert_allclose(a, b, rtol=rtol, atol=atol, err_msg=f"step {step}")


# ----------------------------------------------------------------------------- references
# Each is PyTorch's documented algorithm, line by line: g is the gradient at θ_{t-1}.


def sgd_ref(lr, momentum=0.0, dampening=0.0, weight_decay=0.0, nesterov=False, maximize=False):
    def update(theta, g, s, t):
        g = -g if maximize else g
        g = g + weight_decay * theta
        if momentum:
            s["b"] = g if t == 1 else momentum * s["b"] + (1 - dampening) * g
            g = g + momentum * s["b"] if nesterov else s["b"]
        return theta - lr * g
    return update


def adam_ref(lr, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0, amsgrad=False,
             decoupled=False, maximize=False):
    b1, b2 = betas

    def update(theta, g, s, t):
        g = -g if maximize else g
        if decoupled:
            theta = theta - lr * weight_decay * theta
        else:
            g = g + weight_decay * theta
        s["m"] = b1 * s.get("m", 0) + (1 - b1) * g
        s["v"] = b2 * s.get("v", 0) + (1 - b2) * g**2
        v = s["v"]
        if amsgrad:
            s["vmax"] = v = np.maximum(s.get("vmax", 0), s["v"])
        return theta - lr * (s["m"] / (1 - b1**t)) / (np.sqrt(v / (1 - b2**t)) + eps)
    return update


def adagrad_ref(lr, lr_decay=0.0, weight_decay=0.0, initial_accumulator_value=0.0, eps=1e-10):
    def update(theta, g, s, t):
        g = g + weight_decay * theta
        s["G"] = s.get("G", initial_accumulator_value) + g**2
        return theta - lr / (1 + (t - 1) * lr_decay) * g / (np.sqrt(s["G"]) + eps)
    return update


def rmsprop_ref(lr, alpha=0.99, eps=1e-8, weight_decay=0.0, momentum=0.0, centered=False):
    def update(theta, g, s, t):
        g = g + weight_decay * theta
        s["v"] = alpha * s.get("v", 0) + (1 - alpha) * g**2
        v = s["v"]
        if centered:
            s["m"] = alpha * s.get("m", 0) + (1 - alpha) * g
            v = v - s["m"] ** 2
        step = g / (np.sqrt(v) + eps)
        if momentum:
            s["b"] = step = momentum * s.get("b", 0) + step
        return theta - lr * step
    return update


def adadelta_ref(lr=1.0, rho=0.9, eps=1e-6, weight_decay=0.0, maximize=False):
    """PyTorch docs: v_t = ρ v + (1-ρ) g²; Δx = √(u + ε)/√(v_t + ε) g; u_t = ρ u + (1-ρ) Δx²;
    θ_t = θ - γ Δx."""
    def update(theta, g, s, t):
        g = -g if maximize else g
        g = g + weight_decay * theta
        s["v"] = rho * s.get("v", 0.0) + (1 - rho) * g**2
        dx = np.sqrt(s.get("u", 0.0) + eps) / np.sqrt(s["v"] + eps) * g
        s["u"] = rho * s.get("u", 0.0) + (1 - rho) * dx**2
        return theta - lr * dx
    return update


def adamax_ref(lr=2e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0, maximize=False):
    """PyTorch docs: m_t = β₁ m + (1-β₁) g; u_t = max(β₂ u, |g| + ε); θ_t = θ - γ m_t / ((1-β₁ᵗ) u_t)."""
    b1, b2 = betas

    def update(theta, g, s, t):
        g = -g if maximize else g
        g = g + weight_decay * theta
        s["m"] = b1 * s.get("m", 0.0) + (1 - b1) * g
        s["u"] = np.maximum(b2 * s.get("u", 0.0), np.abs(g) + eps)
        return theta - lr * s["m"] / ((1 - b1**t) * s["u"])
    return update


def nadam_ref(lr=2e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0, momentum_decay=4e-3,
              decoupled_weight_decay=False, maximize=False):
    """PyTorch docs: μ_t = β₁(1 - ½·0.96^{tψ}); m̂ = μ_{t+1} m_t/(1 - Π_{i≤t+1} μ_i)
    + (1-μ_t) g/(1 - Π_{i≤t} μ_i); v̂ = v_t/(1-β₂ᵗ); θ_t = θ - γ m̂/(√v̂ + ε)."""
    b1, b2 = betas

    def mu(t):
        return b1 * (1 - 0.5 * 0.96 ** (t * momentum_decay))

    def update(theta, g, s, t):
        g = -g if maximize else g
        if decoupled_weight_decay:
            theta = theta - lr * weight_decay * theta
        else:
            g = g + weight_decay * theta
        prod_t = math.prod(mu(i) for i in range(1, t + 1))
        prod_next = prod_t * mu(t + 1)
        s["m"] = b1 * s.get("m", 0.0) + (1 - b1) * g
        s["v"] = b2 * s.get("v", 0.0) + (1 - b2) * g**2
        m_hat = mu(t + 1) * s["m"] / (1 - prod_next) + (1 - mu(t)) * g / (1 - prod_t)
        v_hat = s["v"] / (1 - b2**t)
        return theta - lr * m_hat / (np.sqrt(v_hat) + eps)
    return update


def radam_ref(lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0,
              decoupled_weight_decay=False, maximize=False):
    """PyTorch docs: ρ_∞ = 2/(1-β₂) - 1; ρ_t = ρ_∞ - 2tβ₂ᵗ/(1-β₂ᵗ); if ρ_t > 5:
    l_t = √(1-β₂ᵗ)/(√v_t + ε), r_t = √((ρ_t-4)(ρ_t-2)ρ_∞/((ρ_∞-4)(ρ_∞-2)ρ_t)),
    θ_t = θ - γ m̂ r_t l_t; else θ_t = θ - γ m̂."""
    b1, b2 = betas

    def update(theta, g, s, t):
        g = -g if maximize else g
        if decoupled_weight_decay:
            theta = theta - lr * weight_decay * theta
        else:
            g = g + weight_decay * theta
        s["m"] = b1 * s.get("m", 0.0) + (1 - b1) * g
        s["v"] = b2 * s.get("v", 0.0) + (1 - b2) * g**2
        m_hat = s["m"] / (1 - b1**t)
        rho_inf = 2 / (1 - b2) - 1
        rho_t = rho_inf - 2 * t * b2**t / (1 - b2**t)
        if rho_t > 5:
            l_t = np.sqrt(1 - b2**t) / (np.sqrt(s["v"]) + eps)
            r_t = np.sqrt((rho_t - 4) * (rho_t - 2) * rho_inf / ((rho_inf - 4) * (rho_inf - 2) * rho_t))
            return theta - lr * m_hat * r_t * l_t
        return theta - lr * m_hat
    return update


# (name, minigrad factory, reference): every optimizer except LBFGS, in several settings.
CASES = [
    ("SGD", lambda p: optim.SGD(p, lr=0.05), sgd_ref(0.05)),
    ("SGD-momentum", lambda p: optim.SGD(p, lr=0.05, momentum=0.9), sgd_ref(0.05, momentum=0.9)),
    ("SGD-nesterov", lambda p: optim.SGD(p, lr=0.05, momentum=0.9, nesterov=True, weight_decay=0.1),
     sgd_ref(0.05, momentum=0.9, nesterov=True, weight_decay=0.1)),
    ("Adam", lambda p: optim.Adam(p, lr=0.05), adam_ref(0.05)),
    ("Adam-amsgrad", lambda p: optim.Adam(p, lr=0.05, amsgrad=True, weight_decay=0.1),
     adam_ref(0.05, amsgrad=True, weight_decay=0.1)),
    ("AdamW", lambda p: optim.AdamW(p, lr=0.05, weight_decay=0.3),
     adam_ref(0.05, weight_decay=0.3, decoupled=True)),
    ("RMSprop", lambda p: optim.RMSprop(p, lr=0.01), rmsprop_ref(0.01)),
    ("RMSprop-centered", lambda p: optim.RMSprop(p, lr=0.01, momentum=0.5, centered=True),
     rmsprop_ref(0.01, momentum=0.5, centered=True)),
    ("Adagrad", lambda p: optim.Adagrad(p, lr=0.1, lr_decay=0.05, initial_accumulator_value=0.1),
     adagrad_ref(0.1, lr_decay=0.05, initial_accumulator_value=0.1)),
    ("Adadelta", lambda p: optim.Adadelta(p), adadelta_ref()),
    ("Adadelta-wd", lambda p: optim.Adadelta(p, lr=0.5, rho=0.8, eps=1e-4, weight_decay=0.1),
     adadelta_ref(lr=0.5, rho=0.8, eps=1e-4, weight_decay=0.1)),
    ("Adamax", lambda p: optim.Adamax(p), adamax_ref()),
    ("Adamax-wd", lambda p: optim.Adamax(p, lr=0.05, betas=(0.8, 0.99), weight_decay=0.1),
     adamax_ref(lr=0.05, betas=(0.8, 0.99), weight_decay=0.1)),
    ("NAdam", lambda p: optim.NAdam(p), nadam_ref()),
    ("NAdam-wd", lambda p: optim.NAdam(p, lr=0.05, weight_decay=0.1, momentum_decay=0.01),
     nadam_ref(lr=0.05, weight_decay=0.1, momentum_decay=0.01)),
    ("NAdamW", lambda p: optim.NAdam(p, lr=0.05, weight_decay=0.1, decoupled_weight_decay=True),
     nadam_ref(lr=0.05, weight_decay=0.1, decoupled_weight_decay=True)),
    # β₂ = 0.9 makes ρ_t cross 5 at step 6, so both branches of RAdam are exercised
    ("RAdam", lambda p: optim.RAdam(p, lr=0.05, betas=(0.9, 0.9)), radam_ref(0.05, betas=(0.9, 0.9))),
    ("RAdam-wd", lambda p: optim.RAdam(p, lr=0.05, betas=(0.9, 0.9), weight_decay=0.1),
     radam_ref(0.05, betas=(0.9, 0.9), weight_decay=0.1)),
    ("RAdamW", lambda p: optim.RAdam(p, lr=0.05, betas=(0.9, 0.9), weight_decay=0.1,
                                     decoupled_weight_decay=True),
     radam_ref(0.05, betas=(0.9, 0.9), weight_decay=0.1, decoupled_weight_decay=True)),
]
NEW = [c for c in CASES if c[0].split("-")[0] in ("Adadelta", "Adamax", "NAdam", "NAdamW", "RAdam", "RAdamW")]


@pytest.mark.parametrize("name, make, ref", NEW, ids=[c[0] for c in NEW])
def test_new_optimizers_follow_pytorch_documented_algorithm(name, make, ref):
    assert_same_trajectory(minigrad_steps(make, steps=8), reference_steps(ref, steps=8))


@pytest.mark.parametrize("shape", SHAPES, ids=["0-d", "1-d", "2-d"])
@pytest.mark.parametrize("name, make, ref", CASES, ids=[c[0] for c in CASES])
def test_every_optimizer_on_0d_1d_nd_parameters(name, make, ref, shape):
    """The update is written in place, whatever the shape (0-d arrays included)."""
    theta = nn.Parameter(np.asarray(X0[shape], dtype=np.float64))
    array = theta._data
    opt = make([theta])
    expected = reference_steps(ref, shape, steps=3)
    for step in range(3):
        opt.zero_grad(set_to_none=False)
        loss_fn(theta, shape).backward()
        opt.step()
        np.testing.assert_allclose(theta.numpy(), expected[step], rtol=1e-12, atol=1e-14,
                                   err_msg=f"{name} {shape} step {step + 1}")
    assert theta._data is array and theta.shape == shape
    for key, value in opt.state[theta].items():
        if hasattr(value, "shape"):
            assert isinstance(value, np.ndarray) and value.shape == shape, key


def test_sgd_momentum_on_a_0d_parameter_is_pytorchs():
    """Issue 12's report: p = Parameter(np.float32(2.0)), loss p², SGD(lr=0.1, momentum=0.9):
    PyTorch gives 1.6, 0.92, 0.124 (the momentum buffer 4, 6.8, 7.96); without an
    in-place buffer the third step gave 0.376."""
    p = nn.Parameter(np.float32(2.0))
    opt = optim.SGD([p], lr=0.1, momentum=0.9)
    values = []
    for _ in range(3):
        opt.zero_grad()
        (p * p).backward()
        opt.step()
        values.append(p.item())
    assert values == pytest.approx([1.6, 0.92, 0.124], rel=1e-6)
    assert opt.state[p]["momentum_buffer"].item() == pytest.approx(7.96, rel=1e-6)
    assert p.dtype == np.float32 and opt.state[p]["momentum_buffer"].dtype == np.float32


@pytest.mark.parametrize("make", [
    lambda p: optim.Adam(p), lambda p: optim.AdamW(p), lambda p: optim.RMSprop(p),
    lambda p: optim.Adagrad(p), lambda p: optim.Adadelta(p), lambda p: optim.Adamax(p),
    lambda p: optim.NAdam(p), lambda p: optim.RAdam(p),
    lambda p: optim.SGD(p, lr=0.1, momentum=0.9), lambda p: optim.LBFGS(p),
])
def test_float32_0d_parameters_from_tensor_and_parameter(make):
    for p in (nn.Parameter(np.float32(2.0)), minigrad.tensor(2.0, requires_grad=True)):
        opt = make([p])

        def closure(p=p, opt=opt):
            opt.zero_grad(set_to_none=False)
            loss = (p * p).sum()
            loss.backward()
            return loss

        closure()
        opt.step(closure)
        assert p.shape == () and p.dtype == np.float32
        assert 0 <= p.item() < 2.0  # moved towards the minimum at 0
        opt.zero_grad(set_to_none=False)
        assert p.grad.item() == 0.0 and isinstance(p.grad._data, np.ndarray)


@pytest.mark.parametrize("name, make, ref", CASES, ids=[c[0] for c in CASES])
def test_maximize_is_minimizing_the_negated_loss(name, make, ref):
    def run(maximize):
        theta = nn.Parameter(X0[(3,)].copy())
        opt = make([theta])
        assert all(group["maximize"] is False for group in opt.param_groups)
        for group in opt.param_groups:
            group["maximize"] = maximize
        for _ in range(4):
            opt.zero_grad()
            loss = loss_fn(theta, (3,))
            (-loss if maximize else loss).backward()
            grad = theta.grad.numpy().copy()
            opt.step()
            np.testing.assert_array_equal(theta.grad.numpy(), grad)  # p.grad is left alone
        return theta.numpy()

    np.testing.assert_array_equal(run(True), run(False))


# ----------------------------------------------------------------------------- LBFGS


def _quartic_closure(params, opt):
    def closure():
        opt.zero_grad()
        loss = sum(loss_fn(p, s) for p, s in zip(params, SHAPES))
        loss.backward()
        return loss
    return closure


def lbfgs_reference(x0, grad, iterations, lr, history_size):
    """L-BFGS with a fixed step, from the textbook: the direction is d = -H g with H built
    *explicitly* by BFGS updates H ← (I - ρ s yᵀ) H (I - ρ y sᵀ) + ρ s sᵀ over the stored
    pairs, starting from γ I with γ = sᵀy / yᵀy of the newest pair (Nocedal & Wright,
    eq. 7.19 and algorithm 7.5). Pairs with yᵀs <= 1e-10 are skipped; the first step has
    length min(1, 1/‖g‖₁)·lr, the others lr (PyTorch's rule). Returns every iterate."""
    x, g = x0.copy(), grad(x0)
    pairs, gamma, out = [], 1.0, []
    x_prev = g_prev = None
    n = x.size
    for k in range(iterations):
        if k == 0:
            d = -g
            t = min(1.0, 1.0 / np.abs(g).sum()) * lr
        else:
            s, y = x - x_prev, g - g_prev
            if y @ s > 1e-10:
                pairs = (pairs + [(s, y)])[-history_size:]
                gamma = (s @ y) / (y @ y)
            h = gamma * np.eye(n)
            for s_i, y_i in pairs:
                rho = 1.0 / (y_i @ s_i)
                v = np.eye(n) - rho * np.outer(y_i, s_i)
                h = v.T @ h @ v + rho * np.outer(s_i, s_i)
            d = -h @ g
            t = lr
        x_prev, g_prev = x, g
        x = x + t * d
        g = grad(x)
        out.append(x.copy())
    return out


@pytest.mark.parametrize("history_size", [100, 2])
def test_lbfgs_fixed_step_matches_explicit_bfgs_matrices(history_size):
    params = [nn.Parameter(X0[s].copy()) for s in SHAPES]
    opt = optim.LBFGS(params, lr=0.5, max_iter=5, history_size=history_size)
    closure = _quartic_closure(params, opt)

    def flat_grad(x):
        parts, offset = [], 0
        for s in SHAPES:
            n = int(np.prod(s))
            parts.append(grad_fn(x[offset:offset + n].reshape(s), s).reshape(-1))
            offset += n
        return np.concatenate(parts)

    x0 = np.concatenate([X0[s].reshape(-1) for s in SHAPES])
    expected = lbfgs_reference(x0, flat_grad, 15, lr=0.5, history_size=history_size)
    for call in range(3):  # three step() calls of 5 iterations continue one run
        opt.step(closure)
        ours = np.concatenate([p.numpy().reshape(-1) for p in params])
        np.testing.assert_allclose(ours, expected[5 * call + 4], rtol=1e-10, atol=1e-12)
    state = opt.state[params[0]]
    assert state["n_iter"] == 15
    assert state["func_evals"] == 15  # 1 + 4 per call: the 5th iteration's loss is not evaluated
    assert len(state["old_dirs"]) <= history_size


def test_lbfgs_strong_wolfe_minimises_rosenbrock_over_0d_parameters():
    x, y = minigrad.tensor(-1.2, requires_grad=True), minigrad.tensor(1.0, requires_grad=True)
    opt = optim.LBFGS([x, y], line_search_fn="strong_wolfe", max_iter=100, tolerance_grad=1e-9,
                      tolerance_change=1e-14)

    def closure():
        opt.zero_grad()
        loss = (1 - x) ** 2 + 100 * (y - x * x) ** 2
        loss.backward()
        return loss

    first = opt.step(closure)
    assert first.item() == pytest.approx(24.2)  # the loss at the start is returned
    assert x.item() == pytest.approx(1.0, abs=1e-6) and y.item() == pytest.approx(1.0, abs=1e-6)
    assert opt.state[x]["func_evals"] < 100


def test_strong_wolfe_line_search_returns_a_step_meeting_both_conditions():
    # φ(t) = f(x + t d) for f(x) = x⁴ - 3x² + x along d = 1 from x = 0.3: descent, minimum near t = 0.83
    def evaluate(t):
        z = 0.3 + t
        return z**4 - 3 * z**2 + z, np.array([4 * z**3 - 6 * z + 1])

    f0, g0 = evaluate(0.0)
    d = np.array([1.0])
    gtd = float(g0 @ d)
    assert gtd < 0
    for t0 in (1e-3, 0.5, 5.0):  # too short (extrapolate), about right, too long (zoom)
        f, g, t, evals = _strong_wolfe(evaluate, t0, d, f0, g0, gtd)
        assert f <= f0 + 1e-4 * t * gtd, t0  # sufficient decrease
        assert abs(float(g @ d)) <= 0.9 * abs(gtd), t0  # strong curvature condition
        f_at_t, g_at_t = evaluate(t)
        assert f == f_at_t and g[0] == g_at_t[0]  # the values at the returned t
        assert 1 <= evals <= 25


def test_lbfgs_stopping_rules():
    p = nn.Parameter(np.array([1e-9, -1e-9]))
    opt = optim.LBFGS([p])
    closure = _simple_closure(p, opt)
    opt.step(closure)  # |g| <= tolerance_grad at once: one evaluation, no move
    np.testing.assert_array_equal(p.numpy(), [1e-9, -1e-9])
    assert opt.state[p]["func_evals"] == 1 and opt.state[p]["n_iter"] == 0

    p = nn.Parameter(X0[(3,)].copy())
    opt = optim.LBFGS([p], lr=0.1, max_iter=50, max_eval=7)
    opt.step(_quartic_like(p, opt))
    assert opt.state[p]["func_evals"] == 7 and opt.state[p]["n_iter"] == 6  # stopped by max_eval

    # the line search may use only what is left of max_eval (3 here): the tiny first
    # step 1e-3·min(1, 1/‖g‖₁) is extrapolated twice, then the search must stop
    p = nn.Parameter(X0[(3,)].copy())
    opt = optim.LBFGS([p], lr=1e-3, max_iter=3, line_search_fn="strong_wolfe")
    opt.step(_quartic_like(p, opt))
    assert opt.state[p]["func_evals"] == 4 and opt.state[p]["n_iter"] == 1

    p = nn.Parameter(np.array([3.0, -2.0]))
    opt = optim.LBFGS([p], max_iter=50)
    opt.step(_simple_closure(p, opt))  # a quadratic: exact after two iterations, then g = 0
    np.testing.assert_allclose(p.numpy(), [0.0, 0.0], atol=1e-12)
    assert opt.state[p]["n_iter"] == 2
    assert optim.LBFGS([p], max_iter=8).defaults["max_eval"] == 10  # max_iter * 5 // 4


def _simple_closure(p, opt):
    def closure():
        opt.zero_grad()
        loss = (p * p).sum()
        loss.backward()
        return loss
    return closure


def test_lbfgs_errors_and_state_dict_round_trip(tmp_path):
    a, b = nn.Parameter(np.ones(2)), nn.Parameter(np.ones(3))
    with pytest.raises(ValueError, match="parameter groups"):
        optim.LBFGS([{"params": [a]}, {"params": [b]}])
    opt = optim.LBFGS([a])
    with pytest.raises(ValueError, match="parameter groups"):
        opt.add_param_group({"params": [b]})
    with pytest.raises(ValueError, match="line_search_fn"):
        optim.LBFGS([a], line_search_fn="backtracking")
    with pytest.raises(ValueError, match="history_size"):
        optim.LBFGS([a], history_size=0)
    with pytest.raises(TypeError):
        opt.step()  # a closure is required, as in PyTorch

    def run(opt, p, calls):
        for _ in range(calls):
            opt.step(_quartic_like(p, opt))

    p = nn.Parameter(X0[(3,)].copy())
    opt = optim.LBFGS([p], max_iter=3, history_size=4)
    run(opt, p, 4)
    expected = p.numpy().copy()

    p = nn.Parameter(X0[(3,)].copy())
    opt = optim.LBFGS([p], max_iter=3, history_size=4)
    run(opt, p, 2)
    minigrad.save({"p": p, "opt": opt.state_dict()}, tmp_path / "ck.npz")
    ck = minigrad.load(tmp_path / "ck.npz")
    p2 = nn.Parameter(np.zeros(3))
    p2._data[...] = ck["p"]._data if isinstance(ck["p"], minigrad.Tensor) else ck["p"]
    opt2 = optim.LBFGS([p2], max_iter=3, history_size=4)
    opt2.load_state_dict(ck["opt"])
    run(opt2, p2, 2)
    np.testing.assert_allclose(p2.numpy(), expected, rtol=1e-14, atol=0)


def _quartic_like(p, opt):
    def closure():
        opt.zero_grad()
        loss = loss_fn(p, (3,))
        loss.backward()
        return loss
    return closure


# ----------------------------------------------------------------------------- param_groups


# The group keys of torch 2.x, in its order (checked against torch 2.13's param_groups).
PYTORCH_GROUP_KEYS = {
    "SGD": ["lr", "momentum", "dampening", "weight_decay", "nesterov", "maximize", "foreach",
            "differentiable", "fused"],
    "Adam": ["lr", "betas", "eps", "weight_decay", "amsgrad", "maximize", "foreach", "capturable",
             "differentiable", "fused", "decoupled_weight_decay"],
    "AdamW": ["lr", "betas", "eps", "weight_decay", "amsgrad", "maximize", "foreach", "capturable",
              "differentiable", "fused", "decoupled_weight_decay"],
    "Adagrad": ["lr", "lr_decay", "eps", "weight_decay", "initial_accumulator_value", "foreach",
                "maximize", "differentiable", "fused"],
    "RMSprop": ["lr", "momentum", "alpha", "eps", "centered", "weight_decay", "capturable",
                "foreach", "maximize", "differentiable"],
    "Adadelta": ["lr", "rho", "eps", "weight_decay", "maximize", "capturable", "foreach",
                 "differentiable"],
    "Adamax": ["lr", "betas", "eps", "weight_decay", "foreach", "maximize", "differentiable",
               "capturable"],
    "NAdam": ["lr", "betas", "eps", "weight_decay", "momentum_decay", "decoupled_weight_decay",
              "maximize", "foreach", "capturable", "differentiable"],
    "RAdam": ["lr", "betas", "eps", "weight_decay", "maximize", "foreach", "capturable",
              "decoupled_weight_decay", "differentiable"],
    "LBFGS": ["lr", "max_iter", "max_eval", "tolerance_grad", "tolerance_change", "history_size",
              "line_search_fn"],
}
PYTORCH_DEFAULT_LR = {"SGD": 1e-3, "Adam": 1e-3, "AdamW": 1e-3, "Adagrad": 1e-2, "RMSprop": 1e-2,
                      "Adadelta": 1.0, "Adamax": 2e-3, "NAdam": 2e-3, "RAdam": 1e-3, "LBFGS": 1}


@pytest.mark.parametrize("name", sorted(PYTORCH_GROUP_KEYS))
def test_param_groups_have_pytorchs_structure(name):
    p = nn.Parameter(np.ones(2))
    opt = getattr(optim, name)([p])
    group = opt.param_groups[0]
    assert list(group) == ["params"] + PYTORCH_GROUP_KEYS[name]
    assert group["params"] == [p] or group["params"][0] is p
    assert isinstance(group["params"], list)
    assert group["lr"] == PYTORCH_DEFAULT_LR[name]
    assert opt.defaults == {k: group[k] for k in PYTORCH_GROUP_KEYS[name]}
    sd = opt.state_dict()
    assert list(sd["param_groups"][0]) == PYTORCH_GROUP_KEYS[name] + ["params"]
    assert sd["param_groups"][0]["params"] == [0]
    assert isinstance(opt.state, dict) and len(opt.state) == 0


def test_per_group_options_add_param_group_and_lr_changes():
    a, b, c = (nn.Parameter(np.ones(2)) for _ in range(3))
    opt = optim.SGD([{"params": a}, {"params": [b], "lr": 1e-3}], lr=0.1, momentum=0.9)
    assert [g["lr"] for g in opt.param_groups] == [0.1, 1e-3]
    assert [g["momentum"] for g in opt.param_groups] == [0.9, 0.9]
    assert opt.param_groups[0]["params"] == [a] or opt.param_groups[0]["params"][0] is a
    opt.add_param_group({"params": c, "momentum": 0.0, "weight_decay": 0.5})
    assert opt.param_groups[2]["lr"] == 0.1 and opt.param_groups[2]["weight_decay"] == 0.5
    with pytest.raises(ValueError, match="appears twice"):
        opt.add_param_group({"params": [a]})
    with pytest.raises(TypeError, match="set"):
        opt.add_param_group({"params": {nn.Parameter(np.ones(1))}})
    with pytest.raises(ValueError, match="lr must be >= 0"):
        opt.add_param_group({"params": [nn.Parameter(np.ones(1))], "lr": -0.1})
    with pytest.raises(ValueError, match="non-leaf"):
        optim.SGD([a * 2])

    opt.param_groups[0]["lr"] = 0.5  # what a scheduler does: takes effect at the next step
    for p in (a, b, c):
        p.grad = minigrad.Tensor(np.ones(2))
    opt.step()
    np.testing.assert_allclose(a.numpy(), [0.5, 0.5])  # 1 - 0.5·1
    np.testing.assert_allclose(b.numpy(), [0.999, 0.999])
    np.testing.assert_allclose(c.numpy(), [1 - 0.1 * 1.5] * 2)  # g + 0.5·θ, no momentum


@pytest.mark.parametrize("name", ["Adadelta", "Adamax", "NAdam", "RAdam"])
def test_schedulers_drive_the_new_optimizers(name):
    p = nn.Parameter(np.ones(3))
    opt = getattr(optim, name)([p], lr=0.4)
    sched = lr_scheduler.StepLR(opt, step_size=1, gamma=0.5)
    for _ in range(3):
        opt.zero_grad()
        (p * p).sum().backward()
        opt.step()
        sched.step()
    assert opt.param_groups[0]["lr"] == pytest.approx(0.05)
    assert opt.param_groups[0]["initial_lr"] == 0.4


def test_step_bumps_the_version_and_skips_frozen_parameters():
    a, frozen = nn.Parameter(np.ones(2)), nn.Parameter(np.ones(2))
    frozen.requires_grad_(False)
    for cls in (optim.Adadelta, optim.Adamax, optim.NAdam, optim.RAdam):
        opt = cls([a, frozen], lr=0.1)
        before = a._version
        opt.zero_grad()
        (a * a).sum().backward()
        opt.step()
        assert a._version == before + 1
        np.testing.assert_array_equal(frozen.numpy(), [1.0, 1.0])
        assert frozen not in opt.state


def test_compatibility_arguments():
    p = nn.Parameter(np.ones(2))
    for cls in (optim.SGD, optim.Adam, optim.AdamW, optim.Adagrad, optim.RMSprop, optim.Adadelta,
                optim.Adamax, optim.NAdam, optim.RAdam):
        opt = cls([p], foreach=True, maximize=False)
        assert opt.param_groups[0]["foreach"] is True
        with pytest.raises(NotImplementedError, match="differentiable"):
            cls([p], differentiable=True)
    optim.AdamW([p], fused=True)  # accepted (nanoGPT passes it on CUDA); the math is the same
    with pytest.raises(ValueError, match="betas\\[1\\] must be in \\[0, 1\\)"):
        optim.NAdam([p], betas=(0.9, 1.0))
    with pytest.raises(ValueError, match="rho must be in \\[0, 1\\]"):
        optim.Adadelta([p], rho=1.5)
    with pytest.raises(ValueError, match="momentum_decay must be >= 0"):
        optim.NAdam([p], momentum_decay=-1)


# ----------------------------------------------------------------------------- state_dict


def _trained(make, steps=3):
    a, b = nn.Parameter(X0[(2, 3)].copy()), nn.Parameter(X0[()].copy())
    opt = make([{"params": [a]}, {"params": [b], "lr": 0.01}])
    for _ in range(steps):
        opt.zero_grad()
        (loss_fn(a, (2, 3)) + loss_fn(b, ())).backward()
        opt.step()
    return opt, a, b


@pytest.mark.parametrize("name, make", [
    ("Adadelta", lambda p: optim.Adadelta(p)), ("Adamax", lambda p: optim.Adamax(p, lr=0.05)),
    ("NAdam", lambda p: optim.NAdam(p, lr=0.05)), ("RAdam", lambda p: optim.RAdam(p, lr=0.05)),
])
def test_state_dict_layout_and_resume(name, make, tmp_path):
    opt, a, b = _trained(make, steps=3)
    sd = opt.state_dict()
    assert set(sd["state"]) == {0, 1}
    assert [g["params"] for g in sd["param_groups"]] == [[0], [1]]
    assert sd["state"][1]["step"] == 3 and sd["state"][0]["step"] == 3
    assert all(v.shape == () for v in sd["state"][1].values() if hasattr(v, "shape"))
    # a copy: stepping on does not change what was returned
    snapshot = {k: np.array(v, copy=True) for k, v in sd["state"][0].items() if hasattr(v, "shape")}
    opt.step()
    for k, v in snapshot.items():
        np.testing.assert_array_equal(sd["state"][0][k], v)

    full, a_full, b_full = _trained(make, steps=6)
    half, a_half, b_half = _trained(make, steps=3)
    minigrad.save({"opt": half.state_dict(), "a": a_half, "b": b_half}, tmp_path / "ck.npz")
    ck = minigrad.load(tmp_path / "ck.npz")
    a2, b2 = nn.Parameter(np.zeros((2, 3))), nn.Parameter(np.float64(0.0))
    a2._data[...], b2._data[...] = np.asarray(ck["a"]), np.asarray(ck["b"])
    opt2 = make([{"params": [a2]}, {"params": [b2], "lr": 0.01}])
    opt2.load_state_dict(ck["opt"])
    for _ in range(3):
        opt2.zero_grad()
        (loss_fn(a2, (2, 3)) + loss_fn(b2, ())).backward()
        opt2.step()
    np.testing.assert_array_equal(a2.numpy(), a_full.numpy())
    np.testing.assert_array_equal(b2.numpy(), b_full.numpy())


def _adam_state_dict():
    opt, _, _ = _trained(lambda p: optim.Adam(p, lr=0.05, amsgrad=True))
    return opt.state_dict()


@pytest.mark.parametrize("corrupt, field", [
    (lambda sd: sd["param_groups"][0].update(lr=float("nan")), r"param_groups\[0\].*lr|lr.*param_groups\[0\]"),
    (lambda sd: sd["param_groups"][1].update(lr=-1.0), r"lr must be >= 0.*param_groups\[1\]"),
    (lambda sd: sd["param_groups"][0].update(betas=(0.9, 1.0)), r"betas\[1\] must be in \[0, 1\)"),
    (lambda sd: sd["param_groups"][0].update(betas=[-0.1, 0.9]), r"betas\[0\]"),
    (lambda sd: sd["param_groups"][0].update(eps=-1e-8), r"eps must be >= 0"),
    (lambda sd: sd["state"][0]["exp_avg_sq"].__setitem__((0, 0), -1.0), r"state\[0\]\['exp_avg_sq'\].*negative"),
    (lambda sd: sd["state"][1].update(max_exp_avg_sq=np.float64(-2.0) * np.ones(())),
     r"state\[1\]\['max_exp_avg_sq'\].*negative"),
    (lambda sd: sd["state"].update({5: sd["state"][0]}), r"state key 5 is out of range.*2 parameters"),
    (lambda sd: sd["state"].update({-1: sd["state"][0]}), r"state key -1 is out of range"),
    (lambda sd: sd["state"].update({"w": sd["state"][0]}), r"state key 'w' is not a parameter index"),
    (lambda sd: sd["state"][0].update(exp_avg=np.zeros((3, 2))), r"state\[0\]\['exp_avg'\] has shape \(3, 2\), the parameter \(2, 3\)"),
    (lambda sd: sd["state"][1].update(exp_avg=np.zeros(1)), r"state\[1\]\['exp_avg'\] has shape \(1,\), the parameter \(\)"),
    (lambda sd: sd["state"][0].update(step=-3), r"state\[0\]\['step'\]"),
    (lambda sd: sd.pop("state"), r"'state' and 'param_groups'"),
])
def test_load_state_dict_rejects_bad_values_naming_the_field(corrupt, field):
    sd = _adam_state_dict()
    corrupt(sd)
    opt, a, b = _trained(lambda p: optim.Adam(p, lr=0.05, amsgrad=True), steps=1)
    before = opt.state_dict()
    with pytest.raises(ValueError, match=field):
        opt.load_state_dict(sd)
    after = opt.state_dict()  # nothing was changed by the failed load
    assert after["param_groups"] == before["param_groups"]
    np.testing.assert_array_equal(after["state"][0]["exp_avg"], before["state"][0]["exp_avg"])


def test_load_state_dict_fills_keys_an_older_checkpoint_lacks():
    sd = _adam_state_dict()
    for group in sd["param_groups"]:
        for key in ("maximize", "foreach", "capturable", "differentiable", "fused",
                    "decoupled_weight_decay"):
            del group[key]
    opt, _, _ = _trained(lambda p: optim.Adam(p, lr=0.05, amsgrad=True), steps=1)
    opt.load_state_dict(sd)
    assert opt.param_groups[0]["maximize"] is False
    assert opt.param_groups[1]["lr"] == 0.01
    assert opt.state[opt.param_groups[0]["params"][0]]["step"] == 3
