"""Issue 11 item 10: a training step on the GPU makes no host round trip by default.

Counted by the stand-in (``standin.counting``): "d2h" device-to-host copies and syncs
(``float``, ``int``, ``if x.any()``, ``.get()``), "h2d" host-to-device copies.
"""

from __future__ import annotations

import numpy as np
import pytest

import minigrad
import minigrad.nn as nn
import minigrad.nn.functional as F
from minigrad import dispatch, optim

from .helpers import host


def _step(model, opt, x, y):
    loss = F.cross_entropy(model(x), y)
    opt.zero_grad()
    loss.backward()
    opt.step()
    return loss


def _mlp():
    return nn.Sequential(nn.Flatten(), nn.Linear(16, 32), nn.ReLU(), nn.Dropout(0.2), nn.Linear(32, 10))


def _cnn():
    return nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2), nn.Dropout(0.25),
                         nn.Flatten(), nn.Linear(4 * 2 * 2, 10))


@pytest.mark.parametrize("build", [_mlp, _cnn], ids=["mlp", "cnn"])
def test_a_training_step_has_no_host_round_trip(build, standin, monkeypatch):
    monkeypatch.delenv("MINIGRAD_CHECK_VALUES", raising=False)
    model = build().to("cuda")
    opt = optim.Adam(model.parameters(), lr=1e-3)
    x = minigrad.randn(8, 1, 4, 4, device="cuda")
    y = minigrad.tensor(np.arange(8) % 10, device="cuda")
    _step(model, opt, x, y)  # first step: optimizer state is created
    with standin.counting() as rec:
        _step(model, opt, x, y)
    assert rec.total() == 0, rec.sites()


def test_value_checks_are_opt_in_on_the_gpu_and_cost_one_sync(standin, monkeypatch):
    model = _mlp().to("cuda")
    opt = optim.SGD(model.parameters(), lr=0.1)
    x = minigrad.randn(8, 1, 4, 4, device="cuda")
    y = minigrad.tensor(np.arange(8) % 10, device="cuda")
    monkeypatch.setenv("MINIGRAD_CHECK_VALUES", "1")
    with standin.counting() as rec:
        _step(model, opt, x, y)
    assert rec.total() == 1 and list(rec.sites())[0].startswith("ops/loss.py:"), rec.sites()
    with pytest.raises(IndexError, match=r"target values must be in \[0, 10\)"):
        F.cross_entropy(model(x), minigrad.tensor(np.full(8, 10), device="cuda"))
    with pytest.raises(IndexError, match="embedding: indices must be in"):
        F.embedding(minigrad.tensor([[5]], device="cuda"), minigrad.ones(3, 2, device="cuda"))


def test_transformer_step_with_dropout_has_no_host_round_trip(standin, monkeypatch):
    monkeypatch.delenv("MINIGRAD_CHECK_VALUES", raising=False)
    model = nn.TransformerLM(11, d_model=16, n_heads=2, n_layers=1, d_ff=32, max_len=8,
                             dropout=0.1).to("cuda")
    opt = optim.AdamW(model.parameters(), lr=1e-3)
    idx = minigrad.tensor(np.arange(12).reshape(2, 6) % 11, device="cuda")

    def step():
        logits = model(idx)
        loss = F.cross_entropy(logits.reshape(-1, 11), idx.reshape(-1))
        opt.zero_grad()
        loss.backward()
        opt.step()

    step()
    with standin.counting() as rec:
        step()
    assert rec.total() == 0, rec.sites()


def test_dropout_masks_are_drawn_on_the_device_from_manual_seed(standin):
    x = minigrad.ones(64, device="cuda")
    masks = []
    for _ in range(2):
        minigrad.manual_seed(7)
        with standin.counting() as rec:
            a = F.dropout(x, 0.5)
            b = F.dropout(x, 0.5)
        assert rec.total() == 0, rec.sites()
        masks.append((host(a), host(b)))
    assert (masks[0][0] == masks[1][0]).all() and (masks[0][1] == masks[1][1]).all()
    assert not (masks[0][0] == masks[0][1]).all()  # successive calls differ
    assert set(np.unique(masks[0][0])) == {0.0, 2.0}


def test_fp32_matmul_goes_to_cublas_and_fp16_to_triton(kernels_on_device, monkeypatch, xp):
    calls = []
    real = kernels_on_device.matmul
    monkeypatch.setattr(kernels_on_device, "matmul", lambda *a, **kw: calls.append(1) or real(*a, **kw))
    a32 = minigrad.randn(16, 8, device="cuda")._data
    dispatch.matmul(a32, a32.T)
    dispatch.linear(a32, a32)
    assert calls == []
    a16 = a32.astype(np.float16)
    out = dispatch.matmul(a16, a16.T)
    assert calls == [1] and out.dtype == np.float16
    with kernels_on_device.use("triton"):
        dispatch.matmul(a32, a32.T)  # asked for explicitly: fp32 Triton too
    assert calls == [1, 1]


def test_clip_grad_norm_keeps_the_norm_on_the_device(standin):
    model = _mlp().to("cuda")
    model(minigrad.randn(4, 1, 4, 4, device="cuda")).sum().backward()
    with standin.counting() as rec:
        nn.utils.clip_grad_norm_(model.parameters(), 0.1)
    assert rec.total() == 0, rec.sites()
