"""The PyTorch compatibility programs of ``tests/compat/`` run and learn (issue 9).

Each program in ``tests/compat/`` is a PyTorch program whose import lines say
``minigrad``. Here each runs on tiny synthetic data (seconds), and each test checks
a *value* that a wrong gradient, a no-op update or a leaking causal mask would
miss, not only that the loss went down:

- the tutorial's hand-written loop matches a NumPy transcription of the same
  gradient-descent steps, and its ``nn.Module`` refactor gives the same losses
  (so ``p -= p.grad * lr`` under ``no_grad`` updates the parameters in place);
- the language models end below the unigram entropy of their text (they use the
  previous token), and no position's output depends on a later token;
- the MNIST CNN classifies well above chance;
- nanoGPT's checkpoint resumption gives exactly the losses of an uninterrupted run.

``benchmarks/pytorch_parity.py`` compares the same programs with PyTorch itself.
"""

import ast
import importlib.util
import io
import math
import os
import re
import sys
import tokenize
import types
from pathlib import Path

import numpy as np
import pytest

# MINIGRAD_COMPAT_LIBRARY=torch runs the same checks on PyTorch, with the programs'
# import lines rewritten (benchmarks/pytorch_parity.py --tests): they hold there too.
LIBRARY = os.environ.get("MINIGRAD_COMPAT_LIBRARY", "minigrad")
if LIBRARY == "torch":
    import torch as minigrad
else:
    import minigrad

COMPAT = Path(__file__).resolve().parent / "compat"
PROGRAMS = ("mnist_cnn", "word_lm", "nanogpt", "nn_really")

# The import lines a program may use: exactly PyTorch's module paths with minigrad's name
ALLOWED_IMPORTS = {
    "import minigrad as torch",
    "import minigrad.nn as nn",
    "import minigrad.nn.functional as F",
    "from minigrad import optim",
    "from minigrad.nn import functional as F",
    "from minigrad.optim.lr_scheduler import StepLR",
    "from minigrad.utils.data import DataLoader, TensorDataset",
}


def _load(name):
    path = COMPAT / f"{name}.py"
    if LIBRARY == "torch":
        module = types.ModuleType(f"compat_{name}")
        module.__file__ = str(path)
        sys.modules[module.__name__] = module  # dataclasses look their module up
        source = re.sub(r"^(import|from) minigrad\b", r"\1 torch", path.read_text(), flags=re.M)
        exec(compile(source, str(path), "exec"), module.__dict__)
        return module
    spec = importlib.util.spec_from_file_location(f"compat_{name}", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module", autouse=True)
def _one_blas_thread():
    """One BLAS thread: on a busy 2-core machine OpenBLAS's thread pool makes these small
    matrix products 10-30x slower (measured: the nanoGPT run, 6 s instead of 0.3 s)."""
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # optional: the tests are only slower without it
        yield
        return
    with threadpool_limits(limits=1, user_api="blas"):
        yield


@pytest.fixture(autouse=True)
def _float32():
    """Every program runs in the default dtype, float32 (and leaves it so)."""
    before = minigrad.get_default_dtype()
    minigrad.set_default_dtype(minigrad.float32)
    yield
    minigrad.set_default_dtype(before)


def _entropies(ids, vocab):
    """Unigram entropy H(X) and conditional bigram entropy H(X_t | X_{t-1}) of a token stream."""
    ids = np.asarray(ids, dtype=np.int64)
    freq = np.bincount(ids, minlength=vocab) / len(ids)
    h1 = -sum(p * math.log(p) for p in freq if p > 0)
    pairs = np.zeros((vocab, vocab))
    np.add.at(pairs, (ids[:-1], ids[1:]), 1)
    joint = pairs / pairs.sum()
    prev = joint.sum(1, keepdims=True)
    mask = joint > 0
    h2 = -(joint[mask] * np.log((joint / np.where(prev > 0, prev, 1))[mask])).sum()
    return h1, float(h2)


# ----------------------------------------------------------------------------- the programs' form


@pytest.mark.skipif(LIBRARY != "minigrad", reason="a check of the source, not of a library")
@pytest.mark.parametrize("name", PROGRAMS)
def test_only_the_import_lines_name_minigrad(name):
    """Replacing ``minigrad`` by ``torch`` in the import lines leaves no minigrad in the code."""
    source = (COMPAT / f"{name}.py").read_text()
    imports = set()
    for token in tokenize.generate_tokens(io.StringIO(source).readline):
        if token.type == tokenize.NAME and token.string == "minigrad":
            line = token.line.strip()
            assert line in ALLOWED_IMPORTS, f"{name}.py line {token.start[0]}: {line!r}"
            imports.add(line)
    assert "import minigrad as torch" in imports
    as_torch = re.sub(r"^(import|from) minigrad\b", r"\1 torch", source, flags=re.M)
    tree = ast.parse(as_torch)
    names = {n.id for n in ast.walk(tree) if isinstance(n, ast.Name)}
    modules = {n.module or "" for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)}
    modules |= {a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
    assert "minigrad" not in names
    assert not any(m.startswith("minigrad") for m in modules)
    assert "main" in {n.name for n in tree.body if isinstance(n, ast.FunctionDef)}


# ----------------------------------------------------------------------------- "What is torch.nn really?"


def _numpy_logistic_regression(x, y, weights, bias, steps, bs, lr):
    """The tutorial's first loop (log-softmax, NLL, plain gradient descent) in NumPy."""
    w, b = weights.astype(np.float64), bias.astype(np.float64)
    losses, n = [], len(x)
    while len(losses) < steps:
        for i in range((n - 1) // bs + 1):
            xb, yb = x[i * bs:i * bs + bs], y[i * bs:i * bs + bs]
            z = xb @ w + b
            z = z - z.max(1, keepdims=True)
            logp = z - np.log(np.exp(z).sum(1, keepdims=True))
            losses.append(-logp[np.arange(len(yb)), yb].mean())
            dz = np.exp(logp)
            dz[np.arange(len(yb)), yb] -= 1
            dz /= len(yb)
            w -= lr * (xb.T @ dz)
            b -= lr * dz.sum(0)
            if len(losses) == steps:
                break
    return losses


def test_nn_really_manual_loop_is_gradient_descent():
    nn_really = _load("nn_really")
    start = {}

    def keep(weights):
        start.update({k: v.detach().numpy().copy() for k, v in weights.items()})

    losses = nn_really.main(16, stage="manual", init=keep)
    x, y, _, _ = nn_really.make_data()
    expected = _numpy_logistic_regression(x, y, start["weights"], start["bias"], 16, 64, 0.5)
    np.testing.assert_allclose(losses, expected, rtol=2e-4, atol=1e-5)
    assert losses[0] > 2.0 and max(losses[-4:]) < 0.5


@pytest.mark.parametrize("stage", ["functional", "module"])
def test_nn_really_refactors_give_the_same_losses(stage):
    """F.cross_entropy == the hand-written NLL of log_softmax; ``for p in model.parameters():
    p -= p.grad * lr`` under no_grad == updating the raw tensors (silent divergence 1)."""
    nn_really = _load("nn_really")
    manual = nn_really.main(16, stage="manual")
    np.testing.assert_allclose(nn_really.main(16, stage=stage), manual, rtol=1e-4, atol=1e-6)


def test_nn_really_linear_optim_and_dataloader():
    nn_really = _load("nn_really")
    by_hand = nn_really.main(16, stage="linear")
    log = []
    loader = nn_really.main(16, stage="dataloader", shuffle=False, log=log)
    # TensorDataset slices and an unshuffled DataLoader give the same batches
    np.testing.assert_allclose(loader, by_hand, rtol=1e-5)
    assert by_hand[0] > 2.0 and max(by_hand[-4:]) < 0.6
    assert len(log) == 2 and log[1] < 0.6  # validation loss after each epoch of 8 batches
    shuffled = nn_really.main(16, stage="dataloader")
    assert shuffled != loader and max(shuffled[-4:]) < 0.8


def test_nn_really_cnn_stage():
    """The Sequential CNN with Lambda layers and AdaptiveAvgPool2d trains every layer.

    On these random-pixel images it stays near the ln 10 plateau for dozens of steps (as
    the tutorial's does at first on MNIST); the exact losses are compared with PyTorch by
    benchmarks/pytorch_parity.py. Here: it starts at ln 10, and SGD with momentum moved
    every parameter, so the gradient flows back through the pooling and the Lambdas.
    """
    nn_really = _load("nn_really")
    start, models = {}, []

    def keep(model):
        models.append(model)
        start.update({k: v.detach().numpy().copy() for k, v in model.named_parameters()})

    log = []
    losses = nn_really.main(12, stage="cnn", bs=16, n_train=96, n_valid=32, init=keep, log=log)
    assert len(losses) == 12 and len(log) == 2 and np.isfinite(losses).all()
    assert abs(losses[0] - math.log(10)) < 0.05
    assert len(start) == 6  # three convolutions, weight and bias each
    for name, p in models[0].named_parameters():
        moved = np.abs(p.detach().numpy() - start[name]).max()
        assert moved > 1e-4, name


# ----------------------------------------------------------------------------- MNIST CNN


def test_mnist_cnn_learns():
    mnist_cnn = _load("mnist_cnn")
    log = []
    losses = mnist_cnn.main(24, n_train=96, n_test=64, log=log)
    assert len(losses) == 24 and len(log) == 4  # four epochs of six batches, a test after each
    assert abs(losses[0] - math.log(10)) < 0.3
    assert np.mean(losses[-6:]) < np.mean(losses[:6]) - 0.15
    test_loss, accuracy = log[-1]
    assert test_loss < log[0][0] and accuracy >= 40.0  # chance: 10%


def test_mnist_cnn_is_deterministic_and_dropout_matters():
    mnist_cnn = _load("mnist_cnn")
    a = mnist_cnn.main(6, n_train=96)
    assert mnist_cnn.main(6, n_train=96) == a  # torch.manual_seed fixes weights, dropout, order
    assert mnist_cnn.main(6, n_train=96, dropout=False) != a


# ----------------------------------------------------------------------------- word language model


@pytest.mark.parametrize("model,lr,steps", [("LSTM", 20.0, 40), ("Transformer", 5.0, 30)])
def test_word_lm_learns_from_context_only(model, lr, steps):
    word_lm = _load("word_lm")
    h1, h2 = _entropies(word_lm.make_corpus(1200, 16, 1), 16)
    log = []
    losses = word_lm.main(steps, model=model, lr=lr, nlayers=1, log=log)
    assert len(losses) == steps and abs(losses[0] - math.log(16)) < 0.2
    last = np.mean(losses[-10:])
    assert h2 < h1 - 1.0
    assert last < h1 - 0.5, (last, h1)  # below what a model blind to the context can reach
    assert log[-1] < h1 - 0.5  # validation, under no_grad


def test_word_lm_transformer_is_causal():
    """Changing the last token changes no earlier position's output (the square subsequent
    mask); without a mask it would (checked, so the test can fail)."""
    word_lm = _load("word_lm")
    net = word_lm.TransformerModel(16, 8, 2, 16, 1, dropout=0.0)
    net.eval()
    src = minigrad.tensor(np.arange(10).reshape(5, 2) % 16)  # (seq, batch): sequence-first
    other = src.clone()
    other[-1] = (other[-1] + 1) % 16
    a, b = net(src).detach().numpy(), net(other).detach().numpy()
    np.testing.assert_allclose(a[:-1], b[:-1], atol=1e-6)
    assert np.abs(a[-1] - b[-1]).max() > 1e-4
    unmasked = net(other, has_mask=False).detach().numpy()
    assert np.abs(unmasked[:-1] - a[:-1]).max() > 1e-4


def test_word_lm_two_layer_tied_lstm_runs():
    word_lm = _load("word_lm")
    losses = word_lm.main(12, model="LSTM", nlayers=2, tied=True)
    assert len(losses) == 12 and np.isfinite(losses).all()
    net = word_lm.RNNModel("LSTM", 16, 8, 8, 2, tie_weights=True)
    assert net.decoder.weight is net.encoder.weight
    assert len(list(net.parameters())) == 2 + 8  # shared weight counted once, decoder bias, LSTM


def test_word_lm_repackage_hidden_detaches_the_tuple():
    word_lm = _load("word_lm")
    net = word_lm.RNNModel("LSTM", 16, 8, 8, 2, dropout=0.0)
    hidden = net.init_hidden(3)
    assert isinstance(hidden, tuple) and hidden[0].shape == (2, 3, 8)
    data = minigrad.tensor(np.arange(12).reshape(4, 3) % 16)
    _, hidden = net(data, hidden)
    assert all(h.requires_grad for h in hidden)
    detached = word_lm.repackage_hidden(hidden)
    assert isinstance(detached, tuple) and len(detached) == 2
    for old, new in zip(hidden, detached):
        assert not new.requires_grad and new.grad_fn is None
        np.testing.assert_array_equal(new.numpy(), old.detach().numpy())


def test_word_lm_positional_encoding_buffer():
    word_lm = _load("word_lm")
    pe = word_lm.PositionalEncoding(6, dropout=0.0, max_len=5)
    assert "pe" in dict(pe.named_buffers()) and not list(pe.parameters())
    table = pe.pe.numpy()[:, 0, :]
    position, i = np.arange(5)[:, None], np.arange(0, 6, 2)
    np.testing.assert_allclose(table[:, 0::2], np.sin(position / 10000 ** (i / 6)), atol=1e-6)
    np.testing.assert_allclose(table[:, 1::2], np.cos(position / 10000 ** (i / 6)), atol=1e-6)


# ----------------------------------------------------------------------------- nanoGPT

GPT_SMALL = dict(n_layer=1, eval_interval=10)


def test_nanogpt_learns_with_a_causal_mask():
    nanogpt = _load("nanogpt")
    h1, h2 = _entropies(nanogpt.make_text(4000, 32, 1337), 32)
    log = []
    losses = nanogpt.main(30, log=log, **GPT_SMALL)
    assert len(losses) == 30 and abs(losses[0] - math.log(32)) < 0.2
    last = np.mean(losses[-5:])
    assert h2 < h1 - 1.0
    assert last < h1 - 1.0, (last, h1)  # below what a model blind to the context can reach
    assert [it for it, _, _ in log] == [10, 20]


@pytest.mark.parametrize("flash", [False, True])
def test_nanogpt_attention_is_causal(flash):
    """Changing the last token changes the logits of no earlier position."""
    nanogpt = _load("nanogpt")
    model = nanogpt.GPT(nanogpt.GPTConfig(n_layer=1, flash=flash))
    idx = minigrad.tensor([[3, 1, 4, 1, 5, 9]])
    other = idx.clone()
    other[0, -1] = 2
    targets = minigrad.zeros(1, 6, dtype=minigrad.long)  # with targets: logits at every position
    a, _ = model(idx, targets)
    b, _ = model(other, targets)
    np.testing.assert_allclose(a.detach().numpy()[:, :-1], b.detach().numpy()[:, :-1], atol=1e-6)
    assert np.abs(a.detach().numpy()[:, -1] - b.detach().numpy()[:, -1]).max() > 1e-4


def test_nanogpt_flash_and_masked_fill_paths_agree():
    nanogpt = _load("nanogpt")
    masked = nanogpt.main(6, **GPT_SMALL)
    flash = nanogpt.main(6, flash=True, **GPT_SMALL)
    np.testing.assert_allclose(flash, masked, rtol=1e-5)


def test_nanogpt_checkpoint_resume_gives_the_uninterrupted_losses(tmp_path):
    nanogpt = _load("nanogpt")
    uninterrupted = nanogpt.main(24, **GPT_SMALL)
    first = nanogpt.main(12, out_dir=str(tmp_path), **GPT_SMALL)  # saves at iteration 10
    assert first == uninterrupted[:12]

    checkpoint = minigrad.load(tmp_path / "ckpt.pt", map_location="cpu")
    assert set(checkpoint) == {"model", "optimizer", "model_args", "iter_num", "best_val_loss",
                               "config"}
    assert checkpoint["iter_num"] == 10 and checkpoint["model_args"]["n_layer"] == 1
    model = nanogpt.GPT(nanogpt.GPTConfig(n_layer=1))
    assert set(checkpoint["model"]) == set(model.state_dict())
    groups = checkpoint["optimizer"]["param_groups"]
    assert [g["weight_decay"] for g in groups] == [0.1, 0.0]

    resumed = nanogpt.main(24, out_dir=str(tmp_path), init_from="resume", **GPT_SMALL)
    assert resumed == uninterrupted[10:]  # exactly: same weights, AdamW moments, step, batches


def test_nanogpt_weight_tying_and_parameter_groups():
    nanogpt = _load("nanogpt")
    model = nanogpt.GPT(nanogpt.GPTConfig(n_layer=1))
    assert model.transformer.wte.weight is model.lm_head.weight
    names = [n for n, _ in model.named_parameters()]
    assert "lm_head.weight" not in names or "transformer.wte.weight" not in names
    optimizer = model.configure_optimizers(0.1, 1e-3, (0.9, 0.95), "cpu")
    decay, no_decay = optimizer.param_groups
    assert all(p.dim() >= 2 for p in decay["params"]) and all(p.dim() < 2 for p in no_decay["params"])
    assert len(decay["params"]) + len(no_decay["params"]) == len(names)
    assert (decay["weight_decay"], no_decay["weight_decay"]) == (0.1, 0.0)
    assert model.get_num_params() == sum(p.numel() for p in model.parameters()) - 16 * 32


def test_nanogpt_generate_top_k():
    nanogpt = _load("nanogpt")
    minigrad.manual_seed(0)
    model = nanogpt.GPT(nanogpt.GPTConfig(n_layer=1, block_size=8))
    model.eval()
    start = minigrad.tensor([[1, 2, 3]])
    greedy = model.generate(start, 8, top_k=1)  # crosses block_size: the context is cropped
    assert greedy.shape == (1, 11) and greedy[:, :3].tolist() == [[1, 2, 3]]
    idx = start
    with minigrad.no_grad():
        for _ in range(8):
            logits, _ = model(idx[:, -8:])
            idx = minigrad.cat((idx, logits[:, -1, :].argmax(dim=-1, keepdim=True)), dim=1)
    assert greedy.tolist() == idx.tolist()

    # top_k=3: every sampled token is among the 3 most likely at its step
    sampled = model.generate(start, 6, top_k=3)
    with minigrad.no_grad():
        for t in range(3, 9):
            logits, _ = model(sampled[:, max(0, t - 8):t])
            top3 = np.argsort(logits[0, -1].numpy())[-3:]
            assert int(sampled[0, t].item()) in top3
