"""nn.Module, the containers, the basic layers, nn.init and clip_grad_norm_."""

import math

import numpy as np
import pytest

import minigrad
from minigrad import nn
from minigrad.nn import init

pytestmark = pytest.mark.mlp


class MLP(nn.Module):
    def __init__(self, p=0.0):
        super().__init__()
        self.hidden = nn.Linear(4, 8)
        self.act = nn.ReLU()
        self.drop = nn.Dropout(p)
        self.out = nn.Linear(8, 3, bias=False)
        self.register_buffer("steps", minigrad.zeros(1))

    def forward(self, x):
        return self.out(self.drop(self.act(self.hidden(x))))


# ============================================================================ registration


def test_parameters_registered_in_definition_order_and_counted():
    model = MLP()
    names = [n for n, _ in model.named_parameters()]
    assert names == ["hidden.weight", "hidden.bias", "out.weight"]
    assert [p.shape for p in model.parameters()] == [(8, 4), (8,), (3, 8)]
    assert model.num_parameters() == 8 * 4 + 8 + 3 * 8
    assert [n for n, _ in model.named_buffers()] == ["steps"]
    assert [type(c).__name__ for c in model.children()] == ["Linear", "ReLU", "Dropout", "Linear"]
    assert len(list(model.modules())) == 5
    # as PyTorch: a module's own parameters and buffers first, then its children's
    assert list(model.state_dict()) == ["steps", "hidden.weight", "hidden.bias", "out.weight"]
    assert model.out.bias is None


def test_containers_register_their_modules():
    seq = nn.Sequential(nn.Linear(2, 3), nn.Tanh(), nn.Linear(3, 1))
    assert [n for n, _ in seq.named_parameters()] == ["0.weight", "0.bias", "2.weight", "2.bias"]
    assert isinstance(seq[1], nn.Tanh) and len(seq) == 3
    assert [n for n, _ in seq[1:].named_parameters()] == ["2.weight", "2.bias"]  # keeps names

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.blocks = nn.ModuleList([nn.Linear(2, 2) for _ in range(2)])
            self.heads = nn.ModuleDict({"a": nn.Linear(2, 1), "b": nn.Linear(2, 4)})

    names = [n for n, _ in Net().named_parameters()]
    assert names == ["blocks.0.weight", "blocks.0.bias", "blocks.1.weight", "blocks.1.bias",
                     "heads.a.weight", "heads.a.bias", "heads.b.weight", "heads.b.bias"]


def test_shared_parameter_listed_once():
    shared = nn.Linear(3, 3)
    seq = nn.Sequential(shared, nn.ReLU(), shared)
    assert len(list(seq.parameters())) == 2


def test_plain_list_of_modules_warns():
    class Bad(nn.Module):
        def __init__(self):
            super().__init__()
            self.layers = [nn.Linear(2, 2)]

    with pytest.warns(UserWarning, match="use nn.ModuleList"):
        Bad()


def test_assigning_before_init_and_replacing_parameter_errors():
    class NoInit(nn.Module):
        def __init__(self):
            self.w = nn.Parameter(np.ones(2))

    with pytest.raises(AttributeError, match=r"add super\(\).__init__\(\)"):
        NoInit()
    layer = nn.Linear(2, 2)
    with pytest.raises(TypeError, match="is a Parameter"):
        layer.weight = minigrad.ones(2, 2)


def test_parameter_repr_and_requires_grad():
    p = nn.Parameter(np.ones(2, dtype=np.float32))
    assert p.requires_grad
    assert repr(p).startswith("Parameter containing:\ntensor(")


def test_repr_shows_tree_and_counts():
    model = MLP(0.25)
    model.hidden.requires_grad_(False)
    text = repr(model)
    assert text.splitlines()[:3] == [
        "MLP(", "  (hidden): Linear(in_features=4, out_features=8, bias=True)", "  (act): ReLU()"]
    assert "(drop): Dropout(p=0.25)" in text
    assert "(out): Linear(in_features=8, out_features=3, bias=False)" in text
    assert text.endswith("parameters: 64 total, 24 trainable")
    nested = repr(nn.Sequential(nn.Sequential(nn.Flatten(), nn.Identity())))
    assert "  (0): Sequential(\n    (0): Flatten(start_dim=1, end_dim=-1)" in nested


# ============================================================================ modes and helpers


def test_train_eval_switches_dropout():
    model = MLP(p=0.5)
    x = minigrad.randn(16, 4)
    model.eval()
    assert not model.drop.training
    np.testing.assert_array_equal(model(x).numpy(), model(x).numpy())
    model.train()
    assert all(m.training for m in model.modules())
    assert not np.array_equal(model(x).numpy(), model(x).numpy())


def test_dropout_layer_keeps_expectation_and_drops_about_p():
    drop = nn.Dropout(0.2)
    x = minigrad.full((400, 500), 3.0)
    y = drop(x).numpy()
    assert abs((y == 0).mean() - 0.2) < 0.005
    assert abs(y.mean() - 3.0) < 0.03
    assert drop.eval()(x) is x


def test_zero_grad_apply_and_requires_grad():
    model = MLP()
    model(minigrad.randn(2, 4)).sum().backward()
    assert model.hidden.weight.grad is not None
    model.zero_grad()
    assert all(p.grad is None for p in model.parameters())
    model.apply(lambda m: init.zeros_(m.weight) if isinstance(m, nn.Linear) else None)
    assert (model.out.weight.numpy() == 0).all() and (model.hidden.weight.numpy() == 0).all()
    model.requires_grad_(False)
    assert model.num_parameters(trainable_only=True) == 0


def test_double_converts_parameters_and_buffers():
    model = MLP()
    counter = nn.Module()
    counter.register_buffer("n", minigrad.tensor(np.array([3], dtype=np.int64)))
    model.counter = counter
    weight = model.hidden.weight
    assert model.double() is model
    assert model.hidden.weight is weight
    assert all(p.dtype == np.float64 for p in model.parameters())
    assert model.steps.dtype == np.float64
    assert model.counter.n.dtype == np.int64  # integer buffers keep their dtype
    assert model(minigrad.randn(2, 4, dtype=minigrad.float64)).dtype == np.float64
    assert model.float().hidden.weight.dtype == np.float32
    assert model.to("cpu") is model


@pytest.mark.gradcheck
def test_linear_layer_gradcheck():
    layer = nn.Linear(3, 2).double()
    x = minigrad.randn(4, 3, dtype=minigrad.float64, requires_grad=True)
    assert minigrad.gradcheck(lambda x, w, b: nn.functional.linear(x, w, b).tanh(),
                              [x, layer.weight, layer.bias])
    assert minigrad.gradcheck(lambda x: layer(x), [x])


def test_layers_forward_values():
    x = minigrad.tensor([[-2.0, 0.5], [1.0, -0.1]])
    np.testing.assert_allclose(nn.ReLU()(x).numpy(), [[0, 0.5], [1, 0]])
    np.testing.assert_allclose(nn.LeakyReLU(0.1)(x).numpy(), [[-0.2, 0.5], [1, -0.01]], rtol=1e-6)
    np.testing.assert_allclose(nn.Tanh()(x).numpy(), np.tanh(x.numpy()), rtol=1e-6)
    np.testing.assert_allclose(nn.Sigmoid()(x).numpy(), 1 / (1 + np.exp(-x.numpy())), rtol=1e-6)
    np.testing.assert_allclose(nn.Softmax(dim=1)(x).numpy().sum(axis=1), [1, 1], rtol=1e-6)
    np.testing.assert_allclose(np.exp(nn.LogSoftmax(dim=0)(x).numpy()).sum(axis=0), [1, 1],
                               rtol=1e-6)
    gelu_tanh = nn.GELU("tanh")(x).numpy()
    u = np.sqrt(2 / np.pi) * (x.numpy() + 0.044715 * x.numpy() ** 3)
    np.testing.assert_allclose(gelu_tanh, 0.5 * x.numpy() * (1 + np.tanh(u)), rtol=1e-5)
    assert nn.Flatten()(minigrad.zeros(2, 3, 4)).shape == (2, 12)
    assert nn.Flatten(0, 1)(minigrad.zeros(2, 3, 4)).shape == (6, 4)


def test_linear_errors_name_the_layer_and_shape():
    with pytest.raises(ValueError, match=r"Linear: expected input with 4 features.*\(2, 3\)"):
        nn.Linear(4, 2)(minigrad.zeros(2, 3))


# ============================================================================ state dicts


def test_state_dict_round_trip_through_save_and_load(tmp_path):
    model = MLP()
    model.steps.data[...] = 7
    x = minigrad.randn(5, 4)
    minigrad.save(model.state_dict(), tmp_path / "mlp.npz")
    minigrad.manual_seed(99)
    fresh = MLP()
    assert not np.allclose(fresh(x).numpy(), model(x).numpy())
    fresh.load_state_dict(minigrad.load(tmp_path / "mlp.npz"))
    np.testing.assert_array_equal(fresh(x).numpy(), model(x).numpy())
    assert fresh.steps.item() == 7


def test_state_dict_values_are_copies():
    model = nn.Linear(2, 2)
    state = model.state_dict()
    model.weight.data[...] = 0
    assert not (state["weight"] == 0).all()


def test_pytorch_exported_state_dict_loads(rng):
    # What `{k: v.numpy() for k, v in torch_model.state_dict().items()}` gives for
    # torch.nn.Sequential(Linear(3, 4), ReLU(), Linear(4, 2)): weights are (out, in).
    exported = {
        "0.weight": rng.standard_normal((4, 3)).astype(np.float32),
        "0.bias": rng.standard_normal(4).astype(np.float32),
        "2.weight": rng.standard_normal((2, 4)).astype(np.float32),
        "2.bias": rng.standard_normal(2).astype(np.float32),
    }
    x = rng.standard_normal((5, 3)).astype(np.float32)
    hidden = np.maximum(x @ exported["0.weight"].T + exported["0.bias"], 0)
    expected = hidden @ exported["2.weight"].T + exported["2.bias"]
    model = nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 2))
    model.load_state_dict(exported)
    np.testing.assert_allclose(model(minigrad.tensor(x)).numpy(), expected, rtol=1e-5, atol=1e-6)


def test_load_state_dict_lists_every_mismatch():
    model = nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 2))
    before = model.state_dict()
    bad = {
        "0.weight": np.zeros((4, 5)),  # wrong shape
        "0.bias": np.zeros(4),
        "2.weight": np.zeros((3, 4)),  # wrong shape
        "extra.weight": np.zeros(1),  # unexpected; "2.bias" is missing
    }
    with pytest.raises(RuntimeError) as err:
        model.load_state_dict(bad)
    message = str(err.value)
    assert "4 problems" in message
    for part in ["0.weight: shape (4, 5) in the checkpoint, (4, 3) in the model",
                 "2.weight: shape (3, 4)", "missing key: 2.bias", "unexpected key: extra.weight"]:
        assert part in message
    for key, value in model.state_dict().items():  # nothing was loaded
        np.testing.assert_array_equal(value, before[key])
    missing, unexpected = model.load_state_dict({"0.bias": np.ones(4)}, strict=False)
    assert missing == ["0.weight", "2.weight", "2.bias"] and unexpected == []
    np.testing.assert_array_equal(model[0].bias.numpy(), np.ones(4))


def test_load_state_dict_non_strict_still_refuses_a_wrong_shape_and_loads_nothing():
    # PyTorch: strict=False forgives missing/unexpected keys, never a size mismatch; here the
    # whole load is refused, so the keys that fit are not loaded either. (1,) and (1, 3)
    # broadcast into (4,) and (4, 3): only the shape check can catch them
    model = nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 2))
    before = model.state_dict()
    cases = [{"0.weight": np.ones((4, 3)), "0.bias": np.ones(1)},
             {"0.weight": np.ones((1, 3)), "2.weight": np.ones((2, 4)), "extra": np.ones(2)},
             {"0.bias": np.ones(4), "2.weight": np.ones((4, 2))}]
    for bad in cases:
        wrong = next(k for k, v in bad.items() if k in before and v.shape != before[k].shape)
        with pytest.raises(RuntimeError, match=rf"{wrong}: shape \({bad[wrong].shape[0]}"):
            model.load_state_dict(bad, strict=False)
        for key, value in model.state_dict().items():  # nothing was loaded
            np.testing.assert_array_equal(value, before[key], err_msg=f"{key} after {list(bad)}")


def test_load_state_dict_casts_to_parameter_dtype():
    layer = nn.Linear(2, 2)
    layer.load_state_dict({"weight": np.ones((2, 2)), "bias": minigrad.zeros(2)})
    assert layer.weight.dtype == np.float32
    np.testing.assert_array_equal(layer.weight.numpy(), np.ones((2, 2)))


def test_non_persistent_buffer_is_not_saved():
    m = nn.Module()
    m.register_buffer("cache", minigrad.zeros(3), persistent=False)
    assert list(m.state_dict()) == [] and len(list(m.buffers())) == 1


# ============================================================================ init


def test_linear_default_init_bounds():
    layer = nn.Linear(400, 300)
    bound = 1 / math.sqrt(400)
    w, b = layer.weight.numpy(), layer.bias.numpy()
    assert np.abs(w).max() <= bound and np.abs(w).max() > 0.99 * bound
    assert np.abs(b).max() <= bound
    assert w.std() == pytest.approx(bound / math.sqrt(3), rel=0.02)


@pytest.mark.parametrize("fn, kwargs, std", [
    (init.kaiming_normal_, {"nonlinearity": "relu"}, math.sqrt(2 / 200)),
    (init.kaiming_uniform_, {"nonlinearity": "relu"}, math.sqrt(2 / 200)),
    (init.kaiming_normal_, {"mode": "fan_out", "nonlinearity": "relu"}, math.sqrt(2 / 300)),
    (init.kaiming_uniform_, {"a": math.sqrt(5)}, 1 / math.sqrt(3 * 200)),
    (init.xavier_uniform_, {}, math.sqrt(2 / 500)),
    (init.xavier_normal_, {"gain": 2.0}, 2 * math.sqrt(2 / 500)),
])
def test_init_statistics(fn, kwargs, std):
    w = fn(minigrad.zeros(300, 200), **kwargs).numpy()  # fan_in 200, fan_out 300
    assert w.mean() == pytest.approx(0, abs=0.05 * std)
    assert w.std() == pytest.approx(std, rel=0.02)
    if fn in (init.kaiming_uniform_, init.xavier_uniform_):
        assert np.abs(w).max() <= math.sqrt(3) * std * (1 + 1e-6)


def test_init_fans_gains_and_fills():
    conv_weight = minigrad.zeros(16, 3, 5, 5)
    assert init._calculate_fan_in_and_fan_out(conv_weight) == (75, 400)
    assert init.calculate_gain("relu") == pytest.approx(math.sqrt(2))
    assert init.calculate_gain("tanh") == pytest.approx(5 / 3)
    assert init.calculate_gain("leaky_relu", 0.2) == pytest.approx(math.sqrt(2 / 1.04))
    with pytest.raises(ValueError, match="at least 2 dims"):
        init.xavier_uniform_(minigrad.zeros(5))
    t = minigrad.zeros(3)
    assert (init.ones_(t).numpy() == 1).all() and (init.constant_(t, 2.5).numpy() == 2.5).all()
    u = init.uniform_(minigrad.zeros(1000), -2, -1).numpy()
    assert u.min() >= -2 and u.max() < -1


# ============================================================================ gradient clipping


def test_clip_grad_norm_scales_to_max_norm_and_returns_total():
    a, b = nn.Parameter(np.zeros(2)), nn.Parameter(np.zeros(1))
    (a * minigrad.tensor([3.0, 0.0], dtype=minigrad.float64)).sum().backward()
    (b * 4.0).sum().backward()  # total norm sqrt(9 + 16) = 5
    total = nn.utils.clip_grad_norm_([a, b], max_norm=1.0)
    assert total.item() == pytest.approx(5.0)
    np.testing.assert_allclose(a.grad.numpy(), [0.6, 0.0], rtol=1e-5)
    np.testing.assert_allclose(b.grad.numpy(), [0.8], rtol=1e-5)
    total = nn.utils.clip_grad_norm_([a, b], max_norm=10.0)  # below the limit: unchanged
    assert total.item() == pytest.approx(1.0, rel=1e-5)
    np.testing.assert_allclose(a.grad.numpy(), [0.6, 0.0], rtol=1e-5)
    inf_norm = nn.utils.clip_grad_norm_([a, b], max_norm=0.4, norm_type=float("inf"))
    assert inf_norm.item() == pytest.approx(0.8, rel=1e-5)
    np.testing.assert_allclose(b.grad.numpy(), [0.4], rtol=1e-5)


def test_loss_modules_call_the_functional_losses(rng):
    z = minigrad.tensor(rng.standard_normal((4, 3)))
    y = minigrad.tensor([0, 2, 1, 1])
    w = np.array([1.0, 2.0, 0.5])
    criterion = nn.CrossEntropyLoss(weight=w, label_smoothing=0.1, reduction="sum")
    expected = nn.functional.cross_entropy(z, y, weight=w, label_smoothing=0.1, reduction="sum")
    assert criterion(z, y).item() == pytest.approx(expected.item())
    assert repr(criterion) == "CrossEntropyLoss(reduction='sum')"
    p = minigrad.tensor(rng.uniform(0.1, 0.9, size=(4, 3)))
    t = minigrad.tensor(rng.uniform(0, 1, size=(4, 3)))
    pairs = [
        (nn.MSELoss(), nn.functional.mse_loss(z, t)),
        (nn.L1Loss(reduction="none"), nn.functional.l1_loss(z, t, reduction="none")),
        (nn.BCELoss(), nn.functional.binary_cross_entropy(p, t)),
        (nn.BCEWithLogitsLoss(pos_weight=w),
         nn.functional.binary_cross_entropy_with_logits(z, t, pos_weight=w)),
    ]
    for (criterion, expected), args in zip(pairs, [(z, t), (z, t), (p, t), (z, t)]):
        np.testing.assert_allclose(criterion(*args).numpy(), expected.numpy())
    log_p = nn.functional.log_softmax(z, dim=1)
    assert nn.NLLLoss()(log_p, y).item() == pytest.approx(nn.CrossEntropyLoss()(z, y).item())


def test_parameter_copies_the_array_it_is_made_from():
    source = np.ones(3, dtype=np.float32)
    p = nn.Parameter(source)
    p.data -= 1  # what an optimizer step does
    assert source.tolist() == [1.0, 1.0, 1.0]


# ============================================================================ re-assignment keeps the slot


def test_reassigning_a_submodule_or_parameter_keeps_its_slot():
    # PyTorch: `model.decoder = nn.Linear(...)` overwrites the entry in place, so the
    # order of parameters()/state_dict()/named_modules() does not change (an optimizer
    # state paired by position stays on the right tensors).
    class LM(nn.Module):
        def __init__(self):
            super().__init__()
            self.encoder = nn.Linear(4, 8)
            self.decoder = nn.Linear(8, 3)
            self.head = nn.Linear(3, 2)
            self.scale = nn.Parameter(np.ones(1))
            self.register_buffer("steps", minigrad.zeros(1))
            self.register_buffer("cache", minigrad.zeros(1), persistent=False)

    model = LM()
    keys, modules = list(model.state_dict()), [n for n, _ in model.named_modules()]
    assert keys == ["scale", "steps", "encoder.weight", "encoder.bias", "decoder.weight",
                    "decoder.bias", "head.weight", "head.bias"]
    model.decoder = nn.Linear(8, 3, bias=False)
    model.scale = nn.Parameter(np.full(1, 2.0))
    model.steps = minigrad.ones(1)
    model.cache = minigrad.ones(1)
    assert list(model.state_dict()) == [k for k in keys if k != "decoder.bias"]
    assert [n for n, _ in model.named_modules()] == modules
    params = list(model.parameters())
    assert params[1] is model.encoder.weight and params[3] is model.decoder.weight
    assert params[0].item() == 2.0
    model.register_buffer("steps", minigrad.zeros(1))
    model.add_module("encoder", nn.Linear(4, 8))
    model.register_parameter("scale", nn.Parameter(np.ones(1)))
    assert list(model.state_dict()) == [k for k in keys if k != "decoder.bias"]
    assert "cache" not in model.state_dict()  # still non-persistent
    # ModuleList[i] = m keeps position i too
    blocks = nn.ModuleList([nn.Linear(1, 1), nn.Linear(1, 2), nn.Linear(1, 3)])
    blocks[0] = nn.Linear(1, 4)
    assert [b.out_features for b in blocks] == [4, 2, 3]
    assert [n for n, _ in blocks.named_parameters()][:2] == ["0.weight", "0.bias"]
    # a different kind moves out of its old registry, as PyTorch
    model.scale = nn.Linear(1, 1)
    assert "scale" not in dict(model.named_parameters()) and model.scale.out_features == 1


# ============================================================================ channel dropout


def test_dropout2d_zeroes_whole_channels_and_scales_the_rest():
    drop = nn.Dropout2d(0.5)
    x = minigrad.ones(64, 16, 3, 3, requires_grad=True)
    y = drop(x)
    values = y.numpy()
    per_channel = values.reshape(64, 16, 9)
    assert set(np.unique(values)) == {0.0, 2.0}  # dropped or scaled by 1/(1 - p)
    assert (per_channel.min(axis=2) == per_channel.max(axis=2)).all()  # one draw per channel
    assert abs((per_channel[:, :, 0] == 0).mean() - 0.5) < 0.05
    y.sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), values)  # dL/dx is the same scaled mask
    drop.eval()
    assert drop(x) is x
    assert repr(drop) == "Dropout2d(p=0.5, inplace=False)"


def test_dropout1d_shapes_and_errors():
    drop = nn.Dropout1d(0.3)
    y = drop(minigrad.ones(32, 8, 5)).numpy()
    assert (y.min(axis=2) == y.max(axis=2)).all()
    unbatched = drop(minigrad.ones(40, 6)).numpy()  # (C, L): one draw per channel
    assert unbatched.shape == (40, 6) and (unbatched.min(axis=1) == unbatched.max(axis=1)).all()
    assert 0 < (unbatched[:, 0] == 0).sum() < 40
    with pytest.raises(RuntimeError, match="dropout1d: Expected 2D or 3D input"):
        drop(minigrad.ones(2, 3, 4, 5))
    with pytest.raises(ValueError, match="between 0 and 1"):
        nn.Dropout2d(1.5)
    np.testing.assert_array_equal(nn.Dropout1d(1.0)(minigrad.ones(2, 3, 4)).numpy(), 0)
    with pytest.warns(UserWarning, match="3D input to dropout2d"):
        y = nn.Dropout2d(0.5)(minigrad.ones(16, 8, 5)).numpy()  # read as (N, C, L)
    assert (y.min(axis=2) == y.max(axis=2)).all()


@pytest.mark.gradcheck
def test_channel_dropout_gradcheck():
    x = minigrad.randn(3, 4, 2, 2, dtype=minigrad.float64, requires_grad=True)

    def run(x):
        minigrad.manual_seed(5)  # the same mask at every evaluation
        return nn.Dropout2d(0.4)(x)

    assert minigrad.gradcheck(run, [x])


def test_init_functions_take_a_generator_and_count_as_in_place_writes():
    # torch.nn.init.normal_(w, generator=g): the same seed gives the same weights, and the
    # write bumps the tensor's version (init runs under no_grad, as in PyTorch)
    w1, w2 = minigrad.zeros(50, 20), minigrad.zeros(50, 20)
    nn.init.normal_(w1, 0.0, 0.02, generator=minigrad.Generator().manual_seed(1))
    nn.init.normal_(w2, 0.0, 0.02, generator=minigrad.Generator().manual_seed(1))
    np.testing.assert_array_equal(w1.numpy(), w2.numpy())
    assert w1._version == 1 and abs(w1.numpy().std() - 0.02) < 0.002
    t = nn.init.trunc_normal_(minigrad.zeros(10_000), std=1.0, a=-1.0, b=1.5)
    assert t.numpy().min() >= -1.0 and t.numpy().max() <= 1.5
    p = nn.Parameter(minigrad.ones(3))
    nn.init.constant_(p, float("nan"))
    assert np.isnan(p.numpy()).all()
    nn.init.zeros_(p)
    assert p.numpy().tolist() == [0.0, 0.0, 0.0] and p.requires_grad
