"""Optimizers and schedulers against NumPy re-implementations of the papers' formulas."""

import math

import numpy as np
import pytest

import minigrad
from minigrad import nn, optim
from minigrad.optim import lr_scheduler

pytestmark = pytest.mark.optim

# ----------------------------------------------------------------------------- a small problem
# f(θ) = Σ (c ⊙ θ - d)² + 0.1 Σ θ⁴ : gradients change from step to step and differ per coordinate.
_gen = np.random.default_rng(7)
C = _gen.uniform(0.5, 2.0, size=(3, 4))
D = _gen.standard_normal((3, 4))
THETA0 = _gen.standard_normal((3, 4))


def grad_f(theta):
    return 2 * C * (C * theta - D) + 0.4 * theta**3


def run_minigrad(make_opt, steps=8):
    theta = nn.Parameter(THETA0.copy())
    opt = make_opt([theta])
    for _ in range(steps):
        opt.zero_grad()
        loss = ((theta * C - D) ** 2).sum() + 0.1 * (theta**4).sum()
        loss.backward()
        opt.step()
    return theta.numpy()


def run_reference(update, steps=8):
    theta, state = THETA0.copy(), {}
    for t in range(1, steps + 1):
        theta = update(theta, grad_f(theta), state, t)
    return theta


def assert_matches(make_opt, update):
    np.testing.assert_allclose(run_minigrad(make_opt), run_reference(update), rtol=1e-6, atol=1e-6)


# ----------------------------------------------------------------------------- NumPy references


def sgd_ref(lr, momentum=0.0, dampening=0.0, nesterov=False, wd=0.0):
    def update(theta, g, s, t):
        g = g + wd * theta
        if momentum:
            s["v"] = g if t == 1 else momentum * s["v"] + (1 - dampening) * g
            g = g + momentum * s["v"] if nesterov else s["v"]
        return theta - lr * g
    return update


def adagrad_ref(lr, lr_decay=0.0, wd=0.0, init=0.0, eps=1e-10):
    def update(theta, g, s, t):
        g = g + wd * theta
        s["G"] = s.get("G", np.full_like(theta, init)) + g**2  # sum of SQUARED gradients
        return theta - lr / (1 + (t - 1) * lr_decay) * g / (np.sqrt(s["G"]) + eps)
    return update


def rmsprop_ref(lr, alpha=0.99, eps=1e-8, wd=0.0, momentum=0.0, centered=False):
    def update(theta, g, s, t):
        g = g + wd * theta
        s["v"] = alpha * s.get("v", 0) + (1 - alpha) * g**2
        mean_sq = s["v"]
        if centered:
            s["m"] = alpha * s.get("m", 0) + (1 - alpha) * g
            mean_sq = s["v"] - s["m"] ** 2
        step = g / (np.sqrt(mean_sq) + eps)
        if momentum:
            s["b"] = momentum * s.get("b", 0) + step
            step = s["b"]
        return theta - lr * step
    return update


def adam_ref(lr, b1=0.9, b2=0.999, eps=1e-8, wd=0.0, amsgrad=False, decoupled=False):
    """Kingma & Ba (2015), Algorithm 1 (+ Reddi et al.'s max for AMSGrad, Loshchilov & Hutter's
    decoupled decay for AdamW)."""
    def update(theta, g, s, t):
        if decoupled:
            theta = theta - lr * wd * theta
        else:
            g = g + wd * theta
        s["m"] = b1 * s.get("m", 0) + (1 - b1) * g
        s["v"] = b2 * s.get("v", 0) + (1 - b2) * g**2
        v = s["v"]
        if amsgrad:
            s["vmax"] = np.maximum(s.get("vmax", 0), s["v"])
            v = s["vmax"]
        m_hat = s["m"] / (1 - b1**t)
        v_hat = v / (1 - b2**t)
        return theta - lr * m_hat / (np.sqrt(v_hat) + eps)
    return update


# ----------------------------------------------------------------------------- update rules


@pytest.mark.parametrize("kw", [
    {},
    {"momentum": 0.9},
    {"momentum": 0.9, "dampening": 0.3},
    {"momentum": 0.9, "nesterov": True},
    {"momentum": 0.5, "weight_decay": 0.1},
    {"weight_decay": 0.2},
])
def test_sgd_matches_formula(kw):
    ref = sgd_ref(0.02, kw.get("momentum", 0), kw.get("dampening", 0), kw.get("nesterov", False),
                  kw.get("weight_decay", 0))
    assert_matches(lambda p: optim.SGD(p, lr=0.02, **kw), ref)


def test_sgd_without_momentum_is_plain_gradient_descent():
    theta = nn.Parameter(THETA0.copy())
    opt = optim.SGD([theta], lr=0.1)
    (theta * C).sum().backward()
    opt.step()
    np.testing.assert_array_equal(theta.numpy(), THETA0 - 0.1 * C)


@pytest.mark.parametrize("kw", [
    {}, {"lr_decay": 0.1}, {"weight_decay": 0.1}, {"initial_accumulator_value": 0.5},
])
def test_adagrad_matches_formula(kw):
    ref = adagrad_ref(0.1, kw.get("lr_decay", 0), kw.get("weight_decay", 0),
                      kw.get("initial_accumulator_value", 0))
    assert_matches(lambda p: optim.Adagrad(p, lr=0.1, **kw), ref)


def test_adagrad_accumulates_squared_gradients():
    # a constant gradient 3: G = 9 then 18, so the second step is lr·3/√18 = lr/√2
    # (summing plain gradients would give G = 6 and a step of lr·3/√6).
    theta = nn.Parameter(np.zeros(1))
    opt = optim.Adagrad([theta], lr=1.0, eps=0.0)
    moves = []
    for _ in range(2):
        before = theta.numpy().copy()
        opt.zero_grad()
        (theta * 3.0).sum().backward()
        opt.step()
        moves.append(float(before[0] - theta.numpy()[0]))
    assert moves[0] == pytest.approx(1.0)
    assert moves[1] == pytest.approx(1 / math.sqrt(2), rel=1e-12)
    np.testing.assert_allclose(opt.state[theta]["sum"], [18.0])


@pytest.mark.parametrize("kw", [
    {}, {"momentum": 0.9}, {"centered": True}, {"centered": True, "momentum": 0.5},
    {"weight_decay": 0.1, "alpha": 0.9},
])
def test_rmsprop_matches_formula(kw):
    ref = rmsprop_ref(0.01, kw.get("alpha", 0.99), 1e-8, kw.get("weight_decay", 0),
                      kw.get("momentum", 0), kw.get("centered", False))
    assert_matches(lambda p: optim.RMSprop(p, lr=0.01, **kw), ref)


def test_rmsprop_eps_is_outside_the_square_root():
    theta = nn.Parameter(np.zeros(1))
    opt = optim.RMSprop([theta], lr=1.0, alpha=0.0, eps=1.0)
    (theta * 4.0).sum().backward()
    opt.step()
    # v = 16: outside gives 4 / (4 + 1) = 0.8; inside would give 4 / √17
    assert theta.numpy()[0] == pytest.approx(-0.8)


@pytest.mark.parametrize("kw", [
    {}, {"amsgrad": True}, {"weight_decay": 0.1}, {"betas": (0.8, 0.99), "eps": 1e-6},
])
def test_adam_matches_formula(kw):
    b1, b2 = kw.get("betas", (0.9, 0.999))
    ref = adam_ref(0.05, b1, b2, kw.get("eps", 1e-8), kw.get("weight_decay", 0),
                   kw.get("amsgrad", False))
    assert_matches(lambda p: optim.Adam(p, lr=0.05, **kw), ref)


@pytest.mark.parametrize("kw", [{}, {"weight_decay": 0.3}, {"amsgrad": True}])
def test_adamw_matches_formula(kw):
    ref = adam_ref(0.05, wd=kw.get("weight_decay", 1e-2), amsgrad=kw.get("amsgrad", False),
                   decoupled=True)
    assert_matches(lambda p: optim.AdamW(p, lr=0.05, **kw), ref)


def test_adam_bias_correction_makes_first_step_lr():
    theta = nn.Parameter(THETA0.copy())
    opt = optim.Adam([theta], lr=0.01)
    (theta * C).sum().backward()
    opt.step()
    # m̂ = g, v̂ = g², so the step is lr · g / |g| (without correction it would be ~lr·0.1/0.0316)
    np.testing.assert_allclose(THETA0 - theta.numpy(), 0.01 * np.ones_like(THETA0), rtol=1e-6)


def test_adamw_decoupled_decay_and_adam_l2_give_their_hand_computed_values():
    # θ0 = (1, -2), loss = 2 θ_0 + 0.5 θ_1 (gradient c = (2, 0.5)), lr 0.1, weight decay 0.5.
    # Step 1, where m̂ = g and v̂ = g², so Adam moves each entry by lr·sign(g):
    #   Adam (coupled L2):  g = c + 0.5 θ0 = (2.5, -0.5)  ->  θ1 = θ0 - 0.1 sign(g) = (0.9, -1.9)
    #   AdamW (decoupled):  θ0 (1 - 0.1·0.5) = (0.95, -1.9), then - 0.1 sign(c) -> (0.85, -2.0)
    # Step 2 from the Adam formulas (b1 = 0.9, b2 = 0.999), written out below.
    c, lr, wd, b1, b2 = np.array([2.0, 0.5]), 0.1, 0.5, 0.9, 0.999
    expected_1 = {"adam_l2": [0.9, -1.9], "adamw": [0.85, -2.0]}
    g1 = {"adam_l2": c + wd * np.array([1.0, -2.0]), "adamw": c}
    for name, make in (("adam_l2", optim.Adam), ("adamw", optim.AdamW)):
        theta = nn.Parameter(np.array([1.0, -2.0]))
        opt = make([theta], lr=lr, weight_decay=wd)
        (theta * minigrad.tensor(c)).sum().backward()
        opt.step()
        np.testing.assert_allclose(theta.numpy(), expected_1[name], rtol=1e-7, err_msg=name)
        theta1 = theta.numpy().copy()
        opt.zero_grad()
        (theta * minigrad.tensor(c)).sum().backward()
        opt.step()
        if name == "adam_l2":
            g2, start = c + wd * theta1, theta1  # L2 enters the gradient, so m and v
        else:
            g2, start = c, theta1 * (1 - lr * wd)  # decay applied to θ, not seen by m, v
        m_hat = (b1 * (1 - b1) * g1[name] + (1 - b1) * g2) / (1 - b1**2)
        v_hat = (b2 * (1 - b2) * g1[name] ** 2 + (1 - b2) * g2**2) / (1 - b2**2)
        np.testing.assert_allclose(theta.numpy(), start - lr * m_hat / (np.sqrt(v_hat) + 1e-8),
                                   rtol=1e-10, err_msg=name)
    # PyTorch's defaults: AdamW decays by 1e-2 unless told otherwise, Adam not at all
    assert optim.AdamW([nn.Parameter(np.ones(1))]).defaults["weight_decay"] == 1e-2
    assert optim.Adam([nn.Parameter(np.ones(1))]).defaults["weight_decay"] == 0


# ----------------------------------------------------------------------------- base behaviour


def test_param_groups_have_their_own_hyperparameters():
    a, b = nn.Parameter(np.ones(2)), nn.Parameter(np.ones(2))
    opt = optim.SGD([{"params": [a], "lr": 0.0}, {"params": [b]}], lr=0.5)
    (a.sum() + b.sum()).backward()
    opt.step()
    np.testing.assert_array_equal(a.numpy(), [1.0, 1.0])
    np.testing.assert_array_equal(b.numpy(), [0.5, 0.5])
    assert opt.param_groups[1]["lr"] == 0.5


def test_parameters_without_grad_are_skipped_and_zero_grad():
    a, b = nn.Parameter(np.ones(2)), nn.Parameter(np.ones(2))
    opt = optim.Adam([a, b], lr=0.1)
    a.sum().backward()
    opt.step()
    np.testing.assert_array_equal(b.numpy(), [1.0, 1.0])
    assert b not in opt.state
    opt.zero_grad(set_to_none=False)
    np.testing.assert_array_equal(a.grad.numpy(), [0.0, 0.0])
    opt.zero_grad()
    assert a.grad is None


def test_step_with_closure_returns_loss():
    theta = nn.Parameter(np.array([2.0]))
    opt = optim.SGD([theta], lr=0.25)

    def closure():
        opt.zero_grad()
        loss = (theta**2).sum()
        loss.backward()
        return loss

    loss = opt.step(closure)
    assert loss.item() == pytest.approx(4.0)
    assert theta.item() == pytest.approx(1.0)


def test_optimizer_errors():
    with pytest.raises(ValueError, match="empty parameter list"):
        optim.SGD([], lr=0.1)
    with pytest.raises(ValueError, match="lr must be >= 0"):
        optim.Adam([nn.Parameter(np.ones(1))], lr=-1)
    with pytest.raises(ValueError, match="nesterov"):
        optim.SGD([nn.Parameter(np.ones(1))], lr=0.1, nesterov=True)
    with pytest.raises(TypeError, match="single Tensor"):
        optim.SGD(nn.Parameter(np.ones(1)), lr=0.1)
    p = nn.Parameter(np.ones(1))
    with pytest.raises(ValueError, match="appears twice"):
        optim.SGD([p, p], lr=0.1)


def test_optimizer_updates_float32_in_place():
    layer = nn.Linear(3, 2)
    weight_array = layer.weight._data
    opt = optim.Adam(layer.parameters(), lr=0.1)
    layer(minigrad.randn(4, 3)).sum().backward()
    opt.step()
    assert layer.weight._data is weight_array  # same buffer: updated in place
    assert layer.weight.dtype == np.float32
    assert opt.state[layer.weight]["exp_avg"].dtype == np.float32


# ----------------------------------------------------------------------------- resume


def _model_and_data():
    minigrad.manual_seed(3)
    model = nn.Sequential(nn.Linear(3, 5), nn.Tanh(), nn.Linear(5, 1))
    x = minigrad.randn(8, 3)
    y = minigrad.randn(8, 1)
    return model, x, y


def _train(model, opt, x, y, steps, sched=None):
    for _ in range(steps):
        opt.zero_grad()
        nn.functional.mse_loss(model(x), y).backward()
        opt.step()
        if sched is not None:
            sched.step()


@pytest.mark.parametrize("make", [
    lambda p: optim.SGD(p, lr=0.05, momentum=0.9, nesterov=True),
    lambda p: optim.Adagrad(p, lr=0.05),
    lambda p: optim.RMSprop(p, lr=0.01, momentum=0.5, centered=True),
    lambda p: optim.Adam(p, lr=0.01, amsgrad=True),
    lambda p: optim.AdamW(p, lr=0.01),
])
def test_state_dict_resume_gives_identical_trajectory(make, tmp_path):
    model, x, y = _model_and_data()
    opt = make(model.parameters())
    sched = lr_scheduler.StepLR(opt, step_size=2, gamma=0.5)
    _train(model, opt, x, y, 6, sched)
    expected = model.state_dict()

    model, x, y = _model_and_data()
    opt = make(model.parameters())
    sched = lr_scheduler.StepLR(opt, step_size=2, gamma=0.5)
    _train(model, opt, x, y, 3, sched)
    minigrad.save({"model": model.state_dict(), "optim": opt.state_dict(),
                   "sched": sched.state_dict()}, tmp_path / "ck.npz")

    model2, _, _ = _model_and_data()  # fresh weights, overwritten by the checkpoint
    opt2 = make(model2.parameters())
    sched2 = lr_scheduler.StepLR(opt2, step_size=2, gamma=0.5)
    ck = minigrad.load(tmp_path / "ck.npz")
    model2.load_state_dict(ck["model"])
    opt2.load_state_dict(ck["optim"])
    sched2.load_state_dict(ck["sched"])
    assert opt2.param_groups[0]["lr"] == opt.param_groups[0]["lr"]
    _train(model2, opt2, x, y, 3, sched2)
    for key, value in model2.state_dict().items():
        np.testing.assert_array_equal(value, expected[key], err_msg=key)


def test_load_state_dict_rejects_other_layout():
    a, b = nn.Parameter(np.ones(2)), nn.Parameter(np.ones(3))
    opt = optim.Adam([a, b])
    other = optim.Adam([a])
    with pytest.raises(ValueError, match="group sizes differ"):
        other.load_state_dict(opt.state_dict())


# ----------------------------------------------------------------------------- schedulers


def _lrs(sched, epochs):
    out = []
    for _ in range(epochs):
        out.append(sched.get_last_lr()[0])
        sched.optimizer.step()
        sched.step()
    return out


def _opt(lr=1.0):
    return optim.SGD([nn.Parameter(np.zeros(1))], lr=lr)


def test_step_lr():
    assert _lrs(lr_scheduler.StepLR(_opt(), step_size=2, gamma=0.1), 6) == pytest.approx(
        [1, 1, 0.1, 0.1, 0.01, 0.01])


def test_cosine_annealing_lr():
    lrs = _lrs(lr_scheduler.CosineAnnealingLR(_opt(), T_max=4, eta_min=0.2), 5)
    half = 0.2 + 0.8 * (1 + math.cos(math.pi / 4)) / 2
    assert lrs == pytest.approx([1.0, half, 0.6, 0.2 + 0.8 * (1 - math.cos(math.pi / 4)) / 2, 0.2])


def test_linear_lr_warmup():
    lrs = _lrs(lr_scheduler.LinearLR(_opt(0.1), start_factor=0.25, total_iters=3), 5)
    assert lrs == pytest.approx([0.025, 0.05, 0.075, 0.1, 0.1])


def test_lambda_lr_per_group():
    opt = optim.SGD([{"params": [nn.Parameter(np.zeros(1))], "lr": 1.0},
                     {"params": [nn.Parameter(np.zeros(1))], "lr": 2.0}], lr=1.0)
    sched = lr_scheduler.LambdaLR(opt, [lambda e: 0.5**e, lambda e: 1 / (e + 1)])
    sched.step()
    sched.step()
    assert sched.get_last_lr() == pytest.approx([0.25, 2.0 / 3])


def test_sequential_lr_warmup_then_cosine():
    opt = _opt(1.0)
    warm = lr_scheduler.LinearLR(opt, start_factor=0.5, total_iters=2)
    cos = lr_scheduler.CosineAnnealingLR(opt, T_max=2)
    sched = lr_scheduler.SequentialLR(opt, [warm, cos], milestones=[2])
    assert _lrs(sched, 5) == pytest.approx([0.5, 0.75, 1.0, 0.5, 0.0])


def test_scheduler_state_dict_resume():
    sched = lr_scheduler.CosineAnnealingLR(_opt(), T_max=10)
    _lrs(sched, 4)
    state = sched.state_dict()
    resumed = lr_scheduler.CosineAnnealingLR(_opt(), T_max=10)
    resumed.load_state_dict(state)
    assert _lrs(resumed, 3) == pytest.approx(_lrs(sched, 3))


def test_frozen_parameters_are_accepted_and_left_alone():
    """Transfer learning: freeze some layers, then pass model.parameters() as usual."""
    model = minigrad.nn.Linear(3, 2)
    model.weight.requires_grad_(False)
    frozen, bias = model.weight.numpy().copy(), model.bias.numpy().copy()
    opt = minigrad.optim.SGD(model.parameters(), lr=0.1)
    model(minigrad.ones(4, 3)).sum().backward()
    opt.step()
    np.testing.assert_array_equal(model.weight.numpy(), frozen)
    np.testing.assert_allclose(model.bias.numpy(), bias - 0.1 * 4)  # d(sum)/db = batch size
