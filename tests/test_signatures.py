"""minigrad accepts PyTorch's keyword arguments, with PyTorch's defaults.

PyTorch is the specification: a student's program should run on minigrad by changing
only its import lines, so ``F.relu(h, inplace=True)``, ``F.softmax(x, dim=1, dtype=...)``
and ``nn.ReLU(inplace=True)`` must work. ``tests/data/torch_signatures.json`` holds
PyTorch's parameters (names, kinds, defaults) for every name minigrad shares with
``torch``, ``torch.nn.functional``, ``torch.Tensor`` and ``torch.nn`` (written by
``scripts/torch_signatures.py``; torch is not imported here). For each entry, every
parameter PyTorch lets a caller pass by keyword must be a parameter of minigrad's function
under the same name, with the same default where PyTorch has one.

Deliberate differences are in ``ALLOWED`` (each with its reason). The mismatches not yet
fixed are listed in ``tests/data/signature_todo.txt``: the test fails on any mismatch not
listed there, and on any listed one that has been fixed (delete its line), so the list can
only shrink. ``.venv/bin/python tests/test_signatures.py`` prints the current mismatches
(``--write-todo`` rewrites the list).
"""

from __future__ import annotations

import inspect
import json
import sys
from pathlib import Path

import numpy as np
import pytest

import minigrad
import minigrad.nn as nn
import minigrad.nn.functional as F

DATA = Path(__file__).parent / "data"
SIGNATURES = json.loads((DATA / "torch_signatures.json").read_text())
TODO_FILE = DATA / "signature_todo.txt"

# Deliberate differences: these parameters are not compared (minigrad may leave them out, or give
# them a default that means the same). Keys: a parameter name (every entry), "family.*.param"
# (every entry of a family) or "family.name.param" (one entry); families are torch (minigrad.<name>),
# functional (F.<name>), tensor (Tensor.<name>) and module (nn.<Name>.__init__).
ALLOWED = {
    # PyTorch's internals and memory model, with no meaning in minigrad:
    "out": "results are always new tensors; minigrad has no out= (write `y = op(...)` instead)",
    "_stacklevel": "PyTorch's deprecation-warning plumbing (F.softmax & co.), not an argument",
    "layout": "minigrad tensors are dense and strided only",
    "pin_memory": "no page-locked host memory: NumPy/CuPy arrays are copied as they are",
    "memory_format": "minigrad arrays have one (C-contiguous) memory format",
    "non_blocking": "host-device copies are synchronous in minigrad",
    "names": "named tensors (a prototype PyTorch feature) are not part of minigrad",
    "sparse_grad": "minigrad has no sparse gradients",
    "generator": "minigrad draws from one global RNG (minigrad.manual_seed)",
    # deprecated in PyTorch since 0.4.1 (a warning says to use reduction='mean'|'sum'|'none')
    "size_average": "deprecated in PyTorch (warns); minigrad's losses take reduction= only",
    "reduce": "deprecated in PyTorch (warns); minigrad's losses take reduction= only",
    "module.Hardtanh.min_value": "PyTorch's deprecated alias of min_val",
    "module.Hardtanh.max_value": "PyTorch's deprecated alias of max_val",
    "module.Embedding._weight": "private (the plumbing of PyTorch's Embedding.from_pretrained)",
    "module.Embedding._freeze": "private (the plumbing of PyTorch's Embedding.from_pretrained)",
    "out_dtype": "PyTorch 2.x's wider output for low-precision GEMMs (mm, bmm, addmm, baddbmm)",
    "tensor.expand.implicit": "PyTorch's tracing internals (\"internal use only\" in its docs)",
    "tensor.uniform_.from": "`from` is a Python keyword: PyTorch's own callers can only pass it positionally",
    "tensor.to.other": "a TorchScript-only name: PyTorch's Python x.to(other=y) is a TypeError too",
    "tensor.copy_.src": "PyTorch's docs say copy_(src), but torch 2.13's x.copy_(src=y) is a TypeError: "
                        "the keyword is other= (checked), which minigrad takes",
    "tensor.pin_memory.device": "pin_memory is a no-op in minigrad (no page-locked memory)",
    "functional.max_pool2d_with_indices.return_indices":
        "the _with_indices variant returns the indices whatever the flag says (PyTorch: the same)",
    # one minigrad function serves two PyTorch names that spell a parameter differently
    "torch.split.tensor": "torch.split(tensor, ...) and Tensor.split(split_size, ...) share one "
                          "function (minigrad.split(input, split_size_or_sections, dim)); used positionally",
    "tensor.split.split_size": "see torch.split.tensor",
    "torch.vdot.other": "vdot is dot (real tensors need no conjugation): torch.dot's names (input, tensor)",
    "tensor.vdot.other": "vdot is dot (real tensors need no conjugation): torch.dot's names (input, tensor)",
    "torch.swapdims.dim0": "swapdims is swapaxes(input, axis0, axis1), torch.swapaxes's names",
    "torch.swapdims.dim1": "swapdims is swapaxes(input, axis0, axis1), torch.swapaxes's names",
    "tensor.swapdims.dim0": "swapdims is swapaxes(input, axis0, axis1), torch.swapaxes's names",
    "tensor.swapdims.dim1": "swapdims is swapaxes(input, axis0, axis1), torch.swapaxes's names",
    # the same default, spelled differently (ATen's schema vs the Python-level meaning)
    "unbiased": "minigrad's unbiased=None means correction=1, which is PyTorch's unbiased=True",
    "torch.nan_to_num.nan": "nan=0.0 is the value PyTorch's nan=None stands for (its docs say nan=0.0)",
    "tensor.nan_to_num.nan": "nan=0.0 is the value PyTorch's nan=None stands for (its docs say nan=0.0)",
    "tensor.nan_to_num_.nan": "nan=0.0 is the value PyTorch's nan=None stands for (its docs say nan=0.0)",
    "torch.tril_indices.device": "device=None is the default device, the CPU (PyTorch writes 'cpu')",
    "torch.triu_indices.device": "device=None is the default device, the CPU (PyTorch writes 'cpu')",
    "torch.meshgrid.indexing": "PyTorch's None means 'ij' (with a warning); minigrad writes 'ij'",
    "torch.concatenate.axis": "axis is minigrad's alias of dim (default 0), as numpy; PyTorch's axis=0",
    "torch.cdist.compute_mode": "None means PyTorch's default 'use_mm_for_euclid_dist_if_necessary'",
    "torch.arange.start": "PyTorch's docs write arange(start=0, end): arange(5) works the same",
    "torch.kl_div.reduction": "torch.kl_div is ATen's (an int enum); minigrad.kl_div is F.kl_div's strings",
    "torch.ctc_loss.reduction": "torch.ctc_loss is ATen's (an int enum); minigrad.ctc_loss is F.ctc_loss's",
    "torch.save.pickle_module": "minigrad.save writes its own format (no pickle module to choose)",
    "torch.save.pickle_protocol": "minigrad.save writes its own format (no pickle protocol to choose)",
    "torch.save._use_new_zipfile_serialization": "PyTorch's private format switch",
    "torch.save._disable_byteorder_record": "PyTorch's private format switch",
    "torch.load.pickle_module": "minigrad.load reads its own format (no pickle module to choose)",
    "torch.load.mmap": "minigrad.load reads the whole file (no memory map)",
    # torch.nn module constructors' factory_kwargs: parameters are created in float32 on the CPU
    # and moved with .to(device/dtype) afterwards, as students usually do in PyTorch too
    "module.*.device": "module parameters are created on the CPU; move them with .to(device)",
    "module.*.dtype": "module parameters are created in float32; cast them with .to(dtype)",
}

_ACCEPTS_KEYWORD = ("positional_or_keyword", "keyword_only")

# A shape-like argument that minigrad takes as *varargs, as PyTorch's methods also do: x.view(2, 3)
# and x.view((2, 3)) work, x.view(size=(2, 3)) (which no one writes) does not.
_SEQUENCE_ARGS = {"size", "shape", "dims", "repeats", "sizes"}


def _allowed(family: str, name: str, param: str) -> bool:
    return any(key in ALLOWED for key in (param, f"{family}.*.{param}", f"{family}.{name}.{param}"))


def _minigrad_callable(family: str, name: str):
    if family == "torch":
        return getattr(minigrad, name)
    if family == "functional":
        return getattr(F, name)
    if family == "tensor":
        return getattr(minigrad.Tensor, name)
    return getattr(nn, name).__init__


def _same_default(mine, theirs) -> bool:
    if isinstance(theirs, dict):  # {"repr": "torch.strided"}: a torch object, not comparable
        return True
    if theirs == [] and mine is None:  # ``dim=()`` and ``dim=None``: both mean every dim
        return True
    if isinstance(theirs, list) and isinstance(mine, (int, float)) and not isinstance(mine, bool) \
            and theirs and all(t == mine for t in theirs):
        return True  # ``stride=1``: PyTorch's schema writes ``int[2] stride=1`` as [1, 1]
    if isinstance(mine, tuple):
        mine = list(mine)
    if isinstance(theirs, bool) or isinstance(mine, bool):
        return type(mine) is type(theirs) and mine == theirs
    if isinstance(theirs, (int, float)) and isinstance(mine, (int, float)):
        return float(mine) == float(theirs)  # the docs write 1 where the code says 1.0
    return type(mine) is type(theirs) and mine == theirs


def mismatches(entry) -> list[str]:
    """What a PyTorch caller of this entry could pass by keyword that minigrad would refuse or
    read differently; one line each."""
    family, name = entry["family"], entry["name"]
    where = {"torch": "minigrad.{}", "functional": "F.{}", "tensor": "Tensor.{}",
             "module": "nn.{}.__init__"}[family].format(name)
    try:
        signature = inspect.signature(_minigrad_callable(family, name))
    except (ValueError, TypeError) as err:
        return [f"{where}: no signature ({err})"]
    params = dict(signature.parameters)
    if family in ("tensor", "module"):
        params.pop(next(iter(params)), None)  # self
    var_keyword = any(p.kind is p.VAR_KEYWORD for p in params.values())
    var_positional = any(p.kind is p.VAR_POSITIONAL for p in params.values())
    found = []
    for theirs in entry["params"]:
        if theirs["kind"] not in _ACCEPTS_KEYWORD:
            continue
        pname = theirs["name"]
        mine = params.get(pname)
        if _allowed(family, name, pname):
            continue
        if mine is None or mine.kind in (mine.POSITIONAL_ONLY, mine.VAR_POSITIONAL):
            if var_keyword or (var_positional and pname in _SEQUENCE_ARGS):
                continue
            found.append(f"{where}: missing {pname}=")
            continue
        if "default" in theirs:
            if mine.default is mine.empty:
                found.append(f"{where}: {pname} has no default (PyTorch: {theirs['default']!r})")
            elif not _same_default(mine.default, theirs["default"]):
                found.append(f"{where}: {pname}={mine.default!r} (PyTorch: {theirs['default']!r})")
    return found


def all_mismatches() -> list[str]:
    return [line for entry in SIGNATURES["entries"] for line in mismatches(entry)]


def _todo() -> list[str]:
    if not TODO_FILE.exists():
        return []
    return [line for line in TODO_FILE.read_text().splitlines() if line and not line.startswith("#")]


def test_the_data_covers_the_four_families():
    families = {e["family"] for e in SIGNATURES["entries"]}
    assert families == {"torch", "functional", "tensor", "module"}
    assert len(SIGNATURES["entries"]) > 500
    names = {(e["family"], e["name"]) for e in SIGNATURES["entries"]}
    assert {("functional", "relu"), ("functional", "softmax"), ("tensor", "sum"),
            ("module", "ReLU")} <= names


def test_the_check_catches_a_missing_keyword_and_a_wrong_default():
    # the checker itself, on a made-up entry: it cannot pass vacuously
    entry = {"family": "functional", "name": "leaky_relu",
             "params": [{"name": "input", "kind": "positional_or_keyword"},
                        {"name": "negative_slope", "kind": "positional_or_keyword", "default": 0.5},
                        {"name": "no_such_flag", "kind": "keyword_only", "default": False}]}
    found = mismatches(entry)
    assert any("missing no_such_flag=" in m for m in found), found
    assert any("negative_slope=0.01 (PyTorch: 0.5)" in m for m in found), found


def test_minigrad_accepts_pytorch_keywords_with_pytorch_defaults():
    current = all_mismatches()
    todo = _todo()
    new = [m for m in current if m not in set(todo)]
    fixed = [m for m in todo if m not in set(current)]
    message = []
    if new:
        message.append(f"{len(new)} signature mismatch(es) with PyTorch (fix them, or add a reasoned "
                       "entry to ALLOWED in tests/test_signatures.py):\n  " + "\n  ".join(new))
    if fixed:
        message.append(f"{len(fixed)} line(s) of tests/data/signature_todo.txt are fixed now; "
                       "delete them:\n  " + "\n  ".join(fixed))
    assert not message, "\n".join(message)


@pytest.mark.parametrize("call", [
    lambda x: F.relu(x, inplace=False),
    lambda x: F.softmax(x, dim=-1, dtype=None),
    lambda x: F.log_softmax(input=x, dim=1),
    lambda x: F.leaky_relu(x, negative_slope=0.2, inplace=False),
    lambda x: F.gelu(input=x, approximate="tanh"),
    lambda x: F.dropout(x, p=0.5, training=False, inplace=False),
])
def test_pytorch_keyword_calls_run(call):
    x = minigrad.tensor([[1.0, -2.0, 3.0]])
    assert call(x).shape == x.shape


def test_inplace_flags_write_into_the_input_and_keep_the_gradient():
    # F.relu(h, inplace=True) returns h itself, now holding relu(h); backward still gives the
    # gradient of relu through the in-place write (PyTorch's rules, via Tensor._inplace)
    x = minigrad.tensor([1.0, -2.0, 3.0], requires_grad=True)
    h = x * 2
    out = F.relu(h, inplace=True)
    assert out is h and h.numpy().tolist() == [2.0, 0.0, 6.0]
    h.sum().backward()
    assert x.grad.numpy().tolist() == [2.0, 0.0, 2.0]
    h = minigrad.tensor([1.0, -2.0])
    assert F.leaky_relu(h, 0.5, inplace=True) is h and h.numpy().tolist() == [1.0, -1.0]
    h = minigrad.tensor([1.0, -2.0])
    assert nn.ReLU(inplace=True)(h) is h and h.numpy().tolist() == [1.0, 0.0]
    assert repr(nn.ReLU(inplace=True)) == "ReLU(inplace=True)" and repr(nn.ReLU()) == "ReLU()"
    h = minigrad.ones(4, 8)
    assert F.dropout(h, 0.5, training=True, inplace=True) is h
    assert set(h.numpy().ravel().tolist()) <= {0.0, 2.0}
    h = minigrad.ones(2, 3, 4)
    assert nn.Dropout1d(0.5, inplace=True)(h) is h and set(h.numpy().ravel().tolist()) <= {0.0, 2.0}
    h = minigrad.ones(3)
    assert nn.Dropout(0.5, inplace=True).eval()(h) is h and h.numpy().tolist() == [1.0, 1.0, 1.0]


def test_dtype_casts_the_input_first():
    x = minigrad.tensor([[1.0, 2.0, 3.0]])
    for y in (F.softmax(x, dim=1, dtype=minigrad.float64), F.log_softmax(x, 1, dtype=minigrad.float64),
              x.sum(dtype=minigrad.float64), x.mean(dim=1, dtype=minigrad.float64)):
        assert y.dtype == minigrad.float64
    assert minigrad.tensor([1, 2]).mean(dtype=minigrad.float32).item() == 1.5
    assert nn.Softmax()(x).numpy().sum() == pytest.approx(1.0)  # dim=None: the last dim


def test_the_pytorch_arguments_added_for_this_check_compute_what_pytorch_computes():
    # expected values computed with PyTorch 2.13 (weighted losses: "mean" is Σ w·ℓ / Σ w)
    x = minigrad.tensor([[1.0, 2.0], [3.0, 5.0]], requires_grad=True)
    w = minigrad.tensor([[1.0, 0.0], [3.0, 1.0]])
    loss = F.mse_loss(x, minigrad.zeros(2, 2), weight=w)
    assert loss.item() == pytest.approx(10.6)
    loss.backward()
    np.testing.assert_allclose(x.grad.numpy(), [[0.4, 0.0], [3.6, 2.0]], rtol=1e-6)
    assert F.l1_loss(x, minigrad.zeros(2, 2), weight=w).item() == pytest.approx(3.0)
    assert F.l1_loss(x, minigrad.zeros(2, 2), weight=w, reduction="sum").item() == pytest.approx(15.0)
    with pytest.raises(ValueError, match="mse_loss: weight must have the input's shape"):
        F.mse_loss(x, minigrad.zeros(2, 2), weight=minigrad.ones(2))
    # max_norm renormalises the rows looked up, in place, before the lookup
    table = minigrad.tensor([[3.0, 4.0], [0.3, 0.4], [6.0, 8.0]])
    out = F.embedding(minigrad.tensor([0, 1, 0]), table, max_norm=1.0)
    np.testing.assert_allclose(out.numpy(), [[0.6, 0.8], [0.3, 0.4], [0.6, 0.8]], rtol=1e-6)
    np.testing.assert_allclose(table.numpy(), [[0.6, 0.8], [0.3, 0.4], [6.0, 8.0]], rtol=1e-6)
    with pytest.raises(NotImplementedError, match="sparse=True"):
        F.embedding(minigrad.tensor([0]), table, sparse=True)
    assert (nn.Embedding(5, 2, max_norm=1.0)(minigrad.tensor([1])).numpy() ** 2).sum() <= 1.0 + 1e-6
    # dtype= casts first; BatchNorm(bias=False) has no bias parameter
    nan = minigrad.tensor([1, 2, 3])
    assert nan.nansum(dtype=minigrad.float64).dtype == minigrad.float64
    assert minigrad.nanmean(nan, dtype=minigrad.float32).item() == 2.0
    v = minigrad.tensor([1.0, 2.0])
    assert minigrad.vdot(v, v).item() == 5.0 and minigrad.dot(input=v, tensor=v).item() == 5.0
    bn = nn.BatchNorm1d(3, bias=False)
    assert bn.bias is None and [n for n, _ in bn.named_parameters()] == ["weight"]
    assert "bias=False" in repr(bn) and bn(minigrad.randn(4, 3)).shape == (4, 3)


if __name__ == "__main__":
    lines = all_mismatches()
    if sys.argv[1:] == ["--write-todo"]:
        TODO_FILE.write_text("# PyTorch signature mismatches not fixed yet (tests/test_signatures.py);\n"
                             "# delete a line when you fix it. Regenerate: "
                             ".venv/bin/python tests/test_signatures.py --write-todo\n"
                             + "".join(line + "\n" for line in lines))
    print("\n".join(lines))
    print(f"{len(SIGNATURES['entries'])} entries compared, {len(lines)} mismatches", file=sys.stderr)
