"""The engine on the device: models, every optimizer, losses, attention, checkpoints, MNIST.

Each test runs the same computation on the CPU and on "cuda" (the CuPy stand-in in CI,
the GPU with ``MINIGRAD_TEST_DEVICE=cuda``) and compares; results must stay on the device.
"""

from __future__ import annotations

import json

import numpy as np
import pytest

import minigrad
import minigrad.nn as nn
import minigrad.nn.functional as F
from minigrad import optim

from .helpers import assert_same, on_device

TOL = {"rtol": 1e-4, "atol": 1e-5}


def _twin(build, seed=0):
    """The same freshly initialised model twice: on the CPU and on the device."""
    minigrad.manual_seed(seed)
    cpu = build()
    minigrad.manual_seed(seed)
    dev = build().to("cuda")
    return cpu, dev


MODELS = {
    "mlp": (lambda: nn.Sequential(nn.Linear(6, 8), nn.GELU(), nn.LayerNorm(8), nn.Linear(8, 3)),
            (4, 6)),
    "cnn": (lambda: nn.Sequential(nn.Conv2d(1, 3, 3, padding=1), nn.BatchNorm2d(3), nn.ReLU(),
                                  nn.MaxPool2d(2), nn.AvgPool2d(1), nn.Flatten(),
                                  nn.Linear(3 * 3 * 3, 3)), (2, 1, 6, 6)),
    "lstm": (lambda: nn.LSTM(5, 4, num_layers=2, batch_first=True), (2, 3, 5)),
    "gru": (lambda: nn.GRU(5, 4, batch_first=True), (2, 3, 5)),
}


@pytest.mark.parametrize("name", sorted(MODELS))
def test_models_forward_backward_match_the_cpu(name, xp):
    build, shape = MODELS[name]
    cpu, dev = _twin(build)
    x = np.random.default_rng(1).standard_normal(shape).astype(np.float32)
    outs = []
    for model, device in ((cpu, "cpu"), (dev, "cuda")):
        y = model(minigrad.tensor(x, device=device))
        y = y[0] if isinstance(y, tuple) else y
        y.square().mean().backward()
        outs.append(y)
    assert_same(on_device(outs[1]), outs[0], **TOL)
    for pc, pd in zip(cpu.parameters(), dev.parameters()):
        assert_same(on_device(pd.grad), pc.grad, **TOL)


def test_transformer_lm_and_embedding(xp):
    cpu, dev = _twin(lambda: nn.TransformerLM(13, d_model=16, n_heads=2, n_layers=1, d_ff=32,
                                              max_len=8))
    idx = np.array([[1, 2, 3, 4], [5, 6, 7, 12]])
    losses = []
    for model, device in ((cpu, "cpu"), (dev, "cuda")):
        logits = model(minigrad.tensor(idx, device=device))
        loss = F.cross_entropy(logits.reshape(-1, 13), minigrad.tensor(idx.reshape(-1), device=device))
        loss.backward()
        losses.append(loss)
    assert_same(on_device(losses[1]), losses[0], **TOL)
    for pc, pd in zip(cpu.parameters(), dev.parameters()):
        assert_same(on_device(pd.grad), pc.grad, rtol=1e-3, atol=1e-5)


OPTIMIZERS = {
    "SGD": lambda p: optim.SGD(p, lr=0.1, momentum=0.9, nesterov=True, weight_decay=1e-2),
    "Adagrad": lambda p: optim.Adagrad(p, lr=0.1),
    "RMSprop": lambda p: optim.RMSprop(p, lr=0.01, momentum=0.5, centered=True),
    "Adam": lambda p: optim.Adam(p, lr=0.01, amsgrad=True),
    "AdamW": lambda p: optim.AdamW(p, lr=0.01),
    "Adadelta": lambda p: optim.Adadelta(p),
    "Adamax": lambda p: optim.Adamax(p, lr=0.01),
    "NAdam": lambda p: optim.NAdam(p, lr=0.01),
    "RAdam": lambda p: optim.RAdam(p, lr=0.01),
    "LBFGS": lambda p: optim.LBFGS(p, lr=0.5, max_iter=3),
}


@pytest.mark.parametrize("name", sorted(OPTIMIZERS))
def test_every_optimizer_steps_like_on_the_cpu(name, xp):
    cpu, dev = _twin(lambda: nn.Linear(4, 2))
    x = np.random.default_rng(2).standard_normal((5, 4)).astype(np.float32)
    for model, device in ((cpu, "cpu"), (dev, "cuda")):
        opt = OPTIMIZERS[name](model.parameters())
        xt = minigrad.tensor(x, device=device)

        def closure(model=model, opt=opt, xt=xt):
            opt.zero_grad()
            loss = model(xt).square().mean()
            loss.backward()
            return loss

        for _ in range(3):
            opt.step(closure)
    for pc, pd in zip(cpu.parameters(), dev.parameters()):
        assert_same(on_device(pd), pc, **TOL)
    buffers = [v for s in opt.state.values() for v in s.values()
               if hasattr(v, "shape") and getattr(v, "ndim", 0) > 0]
    if name not in ("SGD", "LBFGS"):  # SGD with momentum and the adaptive ones keep buffers
        assert buffers, f"{name}: no state buffers to check"
    for value in buffers:  # optimizer state stays on the device too
        on_device(value)


LOSSES = {
    "cross_entropy": lambda z, d: F.cross_entropy(z, minigrad.tensor([0, 2, 1, 2], device=d),
                                                  label_smoothing=0.1, ignore_index=1),
    "cross_entropy_weighted": lambda z, d: F.cross_entropy(
        z, minigrad.tensor([0, 2, 1, 2], device=d), weight=minigrad.tensor([1.0, 2.0, 0.5], device=d)),
    "nll": lambda z, d: F.nll_loss(F.log_softmax(z, dim=1), minigrad.tensor([0, 2, 1, 2], device=d)),
    "mse": lambda z, d: F.mse_loss(z, minigrad.ones(4, 3, device=d)),
    "l1": lambda z, d: F.l1_loss(z, minigrad.zeros(4, 3, device=d)),
    "bce_logits": lambda z, d: F.binary_cross_entropy_with_logits(z, minigrad.ones(4, 3, device=d)),
    "bce": lambda z, d: F.binary_cross_entropy(z.sigmoid(), minigrad.zeros(4, 3, device=d)),
}


@pytest.mark.parametrize("name", sorted(LOSSES))
def test_losses_and_their_gradients_match_the_cpu(name, xp):
    z = np.random.default_rng(3).standard_normal((4, 3)).astype(np.float32)
    results = []
    for device in ("cpu", "cuda"):
        zt = minigrad.tensor(z, device=device, requires_grad=True)
        loss = LOSSES[name](zt, device)
        loss.backward()
        results.append((loss, zt.grad))
    assert_same(on_device(results[1][0]), results[0][0], **TOL)
    assert_same(on_device(results[1][1]), results[0][1], **TOL)


@pytest.mark.parametrize("causal", [True])
def test_attention_array_path_and_flash_kernels(causal, xp, kernels_on_device, monkeypatch):
    """The device run takes the flash kernels (fp32 attention stays on Triton: it saves memory)."""
    rng = np.random.default_rng(4)
    q, k, v = (rng.standard_normal((1, 2, 9, 16)).astype(np.float32) for _ in range(3))
    launches = []
    real = kernels_on_device.attention
    monkeypatch.setattr(kernels_on_device, "attention",
                        lambda *a, **kw: launches.append(1) or real(*a, **kw))
    results = []
    for device in ("cpu", "cuda"):
        ts = [minigrad.tensor(a, device=device, requires_grad=True) for a in (q, k, v)]
        out = F.scaled_dot_product_attention(*ts, is_causal=causal)
        out.square().sum().backward()
        results.append((out, *[t.grad for t in ts]))
    assert launches == [1]  # the CPU run took the array path, the device run the kernel
    for dev, cpu in zip(results[1], results[0]):
        assert_same(on_device(dev), cpu, rtol=1e-4, atol=1e-4)


def test_checkpoints_round_trip_from_the_device(xp, tmp_path):
    cpu, dev = _twin(lambda: nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4)))
    opt = optim.Adam(dev.parameters(), lr=0.1)
    dev(minigrad.randn(5, 3, device="cuda")).sum().backward()
    opt.step()
    minigrad.save({"model": dev.state_dict(), "optim": opt.state_dict()}, tmp_path / "ck.npz")
    loaded = minigrad.load(tmp_path / "ck.npz")
    cpu.load_state_dict(loaded["model"])
    for pc, pd in zip(cpu.state_dict().values(), dev.state_dict().values()):
        assert_same(pd, pc)
    back = cpu.to("cuda")
    opt2 = optim.Adam(back.parameters(), lr=0.1)
    opt2.load_state_dict(loaded["optim"])
    back(minigrad.randn(5, 3, device="cuda")).sum().backward()
    opt2.step()  # state moved to the parameters' device: no NumPy/CuPy mix
    for p in back.parameters():
        on_device(p)


def test_gradcheck_of_layers_on_the_device(xp):
    minigrad.manual_seed(5)
    conv = nn.Conv2d(1, 2, 2).to("cuda").to(minigrad.float64)
    x = minigrad.randn(1, 1, 3, 3, dtype=minigrad.float64, device="cuda", requires_grad=True)
    assert minigrad.gradcheck(lambda t: F.max_pool2d(conv(t).tanh(), 2).sum() + conv(t).square().mean(),
                              (x,))
    emb = nn.Embedding(5, 3).to("cuda").to(minigrad.float64)
    assert minigrad.gradcheck(lambda w: F.embedding(minigrad.tensor([[0, 4, 4]], device="cuda"), w).sum(),
                              (emb.weight,))


def test_mnist_example_on_the_device(xp, tmp_path, monkeypatch):
    """``python -m minigrad.examples.mnist --device cuda`` on 512 digits, 1 epoch, vs the CPU run."""
    from minigrad.datasets import mnist as mnist_data
    from minigrad.examples import mnist

    def no_network(url, **limits):
        raise OSError("no network in tests")

    monkeypatch.setattr(mnist_data, "fetch", no_network)
    monkeypatch.setenv("MINIGRAD_DATA", str(tmp_path / "cache"))
    records, devices_seen = {}, set()
    real_forward = nn.Linear.forward

    def spy(self, x):
        devices_seen.add(x.device)
        return real_forward(self, x)

    monkeypatch.setattr(nn.Linear, "forward", spy)
    for device in ("cpu", "cuda"):
        out = tmp_path / device
        argv = ["--device", device, "--limit", "512", "--epochs", "1", "--batch-size", "128",
                "--no-plots", "--out", str(out)]
        assert mnist.main(argv) == 0
        records[device] = json.loads((out / "metrics.json").read_text())
    assert devices_seen == {"cpu", "cuda"}
    cpu, dev = records["cpu"], records["cuda"]
    assert dev["device"] == "cuda" and dev["train_samples"] == 512
    assert dev["test_accuracy"] > 0.5
    # dropout masks come from different generators on the two devices: close, not equal
    assert abs(dev["test_accuracy"] - cpu["test_accuracy"]) < 0.15
