"""Write ``tests/data/torch_signatures.json``: PyTorch's parameters for every name minigrad shares.

PyTorch is minigrad's specification for names, arguments and defaults. This script records,
for each public name that exists both in minigrad and in PyTorch, PyTorch's parameter names,
kinds and defaults, so that ``tests/test_signatures.py`` can check minigrad against them
without importing torch. Four families are compared:

* ``torch.<name>`` functions vs ``minigrad.<name>``,
* ``torch.nn.functional.<name>`` vs ``minigrad.nn.functional.<name>``,
* ``torch.Tensor.<name>`` methods vs ``minigrad.Tensor.<name>``,
* ``torch.nn.<Module>.__init__`` vs ``minigrad.nn.<Module>.__init__``.

Two steps, two interpreters (torch is never a dependency of minigrad):

    .venv/bin/python scripts/torch_signatures.py --minigrad-names > /tmp/minigrad_names.json
    /tmp/torchvenv/bin/python scripts/torch_signatures.py /tmp/minigrad_names.json

(run without an argument, the second step runs the first itself with ``.venv/bin/python``).

Where ``inspect.signature`` fails (most torch builtins), the ATen schemas are read
(``aten::sum.dim_IntList(Tensor self, int[1]? dim, bool keepdim=False, *, ScalarType? dtype=None)``,
every overload merged): the Python bindings take their keyword names from them. Builtins bound
by hand (``Tensor.numpy``, ``torch.zeros(*size)``) have no Tensor schema; for them the signature
lines of the docstring (``zeros(*size, *, out=None, dtype=None, ...) -> Tensor``) are parsed and
merged. Names with neither are skipped and counted. The JSON holds names and defaults only.
"""

from __future__ import annotations

import ast
import inspect
import json
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "tests" / "data" / "torch_signatures.json"

KINDS = {
    inspect.Parameter.POSITIONAL_ONLY: "positional_only",
    inspect.Parameter.POSITIONAL_OR_KEYWORD: "positional_or_keyword",
    inspect.Parameter.VAR_POSITIONAL: "var_positional",
    inspect.Parameter.KEYWORD_ONLY: "keyword_only",
    inspect.Parameter.VAR_KEYWORD: "var_keyword",
}


# ------------------------------------------------------------------ step 1: minigrad's names


def minigrad_names() -> dict[str, list[str]]:
    """The public names of minigrad in each of the four families (run with the project venv)."""
    import minigrad
    import minigrad.nn as nn
    import minigrad.nn.functional as F

    def public(ns):
        return sorted(n for n in dir(ns) if not n.startswith("_"))

    top = [n for n in public(minigrad)
           if callable(getattr(minigrad, n)) and not inspect.isclass(getattr(minigrad, n))]
    functional = [n for n in public(F)
                  if callable(getattr(F, n)) and not inspect.isclass(getattr(F, n))]
    methods = [n for n in public(minigrad.Tensor)
               if callable(inspect.getattr_static(minigrad.Tensor, n, None))
               and not isinstance(inspect.getattr_static(minigrad.Tensor, n), property)]
    modules = [n for n in public(nn)
               if inspect.isclass(getattr(nn, n)) and issubclass(getattr(nn, n), nn.Module)]
    return {"torch": top, "functional": functional, "tensor": methods, "module": modules}


# ------------------------------------------------------------------ step 2: PyTorch's parameters


def _literal(node_or_text):
    """A default as JSON: a literal stays itself (tuples become lists); anything else is
    ``{"repr": "<source text>"}`` (``torch.strided``, ``torch.contiguous_format``)."""
    try:
        value = ast.literal_eval(node_or_text)
    except (ValueError, SyntaxError, TypeError):
        text = node_or_text if isinstance(node_or_text, str) else ast.unparse(node_or_text)
        return {"repr": text}
    return _jsonable(value)


def _jsonable(value):
    if value is None or isinstance(value, (bool, int, float, str)):
        if isinstance(value, float) and value != value:
            return {"repr": "nan"}
        if isinstance(value, float) and value in (float("inf"), float("-inf")):
            return {"repr": repr(value)}
        return value
    if isinstance(value, (tuple, list)) and all(
            v is None or isinstance(v, (bool, int, float, str)) for v in value):
        return list(value)
    if callable(value) and hasattr(value, "__qualname__"):  # ``activation=F.relu``: its name, no address
        return {"repr": f"{value.__module__}.{value.__qualname__}"}
    return {"repr": re.sub(r" at 0x[0-9a-f]+", "", repr(value))}


def _from_signature(fn, drop_self: bool):
    sig = inspect.signature(fn)
    params = []
    for i, p in enumerate(sig.parameters.values()):
        if drop_self and i == 0 and p.name == "self":
            continue
        entry = {"name": p.name, "kind": KINDS[p.kind]}
        if p.default is not inspect.Parameter.empty:
            entry["default"] = _jsonable(p.default)
        params.append(entry)
    return params


_DOC_LINE = r"^\s*(?:\.\. function::\s*)?{name}\((?P<args>.*)\)\s*->"


def _split_top_level(text: str) -> list[str]:
    """``a, b=(1, 2), *, c=None`` -> ``["a", "b=(1, 2)", "*", "c=None"]`` (commas inside brackets stay)."""
    parts, depth, current = [], 0, ""
    for ch in text:
        if ch in "([{":
            depth += 1
        elif ch in ")]}":
            depth -= 1
        if ch == "," and depth == 0:
            parts.append(current.strip())
            current = ""
        else:
            current += ch
    if current.strip():
        parts.append(current.strip())
    return parts


def _parse_arglist(args: str):
    """``input, dim, *, dtype=None`` (a docstring's signature line) -> parameters, or None.

    Written by hand rather than with ``ast``: PyTorch's docs write signatures Python cannot
    parse (``arange(start=0, end, step=1, ...)``, ``zeros(*size, *, out=None)``, ``\\*``)."""
    args = args.replace("\\*", "*")
    params, keyword_only = [], False
    for part in _split_top_level(args):
        name, _, default = part.partition("=")
        name = re.sub(r"\s*\(.*\)$", "", name.strip())  # ``input (Tensor)`` -> ``input``
        name = name.split(":")[0].strip()  # ``dim: int`` -> ``dim``
        if name == "/":
            for p in params:
                p["kind"] = "positional_only"
            continue
        if name == "*":
            keyword_only = True
            continue
        if name.startswith("**"):
            kind, name = "var_keyword", name[2:]
        elif name.startswith("*"):
            kind, name, keyword_only = "var_positional", name[1:], True
        else:
            kind = "keyword_only" if keyword_only else "positional_or_keyword"
        if not name.isidentifier():
            return None
        entry = {"name": name, "kind": kind}
        if default.strip():
            entry["default"] = _literal(default.strip())
        params.append(entry)
    return params


def _merge(overloads):
    """One parameter list from several overloads: every name any overload accepts, in order of
    first appearance; a name is keyword-passable if any overload lets it be; the first default."""
    merged: dict[str, dict] = {}
    for params in overloads:
        for p in params:
            if p["name"] not in merged:
                merged[p["name"]] = dict(p)
                continue
            m = merged[p["name"]]
            if m["kind"] in ("positional_only", "var_positional") and p["kind"] in (
                    "positional_or_keyword", "keyword_only"):
                m["kind"] = p["kind"]
            if "default" not in m and "default" in p:
                m["default"] = p["default"]
    return list(merged.values())


def _from_doc(fn, name: str):
    doc = getattr(fn, "__doc__", None) or ""
    overloads = []
    for line in doc.splitlines():
        m = re.match(_DOC_LINE.format(name=re.escape(name)), line)
        if m:
            params = _parse_arglist(m.group("args"))
            if params is not None:
                overloads.append(params)
    return _merge(overloads) if overloads else None


def _from_schema(torch, name: str, is_method: bool):
    """ATen's schemas (``aten::relu(Tensor self) -> Tensor``); ``self`` is the tensor, which the
    Python function calls ``input`` and a method leaves out. ``.out`` overloads and non-Tensor
    ones are left out."""
    try:
        schemas = torch._C._jit_get_schemas_for_operator(f"aten::{name}")
    except RuntimeError:
        return None
    overloads = []
    for s in schemas:
        if s.overload_name.endswith("out") or not s.arguments:
            continue
        if str(s.arguments[0].type) != "Tensor":
            continue
        if any(a.alias_info is not None and a.alias_info.is_write for a in s.arguments[1:]):
            continue  # an out= variant (``kthvalue.values(..., Tensor(a!) values, ...)``)
        params = []
        for arg in s.arguments:
            if arg.name == "self" and is_method:
                continue  # the tensor the method is called on (not always the first: ``where``)
            entry = {"name": "input" if arg.name == "self" else arg.name,
                     "kind": "keyword_only" if arg.kwarg_only else "positional_or_keyword"}
            if arg.has_default_value():
                entry["default"] = _jsonable(arg.default_value)
            params.append(entry)
        overloads.append(params)
    return _merge(overloads) if overloads else None


def torch_parameters(torch, family: str, name: str):
    """(parameters, source) for one name, or (None, reason)."""
    import torch.nn as tnn
    import torch.nn.functional as tF

    if family == "torch":
        fn = getattr(torch, name, None)
        if fn is None or inspect.isclass(fn) or not callable(fn) or inspect.ismodule(fn):
            return None, "absent"
    elif family == "functional":
        fn = getattr(tF, name, None)
        if fn is None or inspect.isclass(fn) or not callable(fn):
            return None, "absent"
    elif family == "tensor":
        fn = getattr(torch.Tensor, name, None)
        if fn is None or isinstance(inspect.getattr_static(torch.Tensor, name, None), property) \
                or not callable(fn):
            return None, "absent"
    else:  # module
        cls = getattr(tnn, name, None)
        if not (inspect.isclass(cls) and issubclass(cls, tnn.Module)):
            return None, "absent"
        return _from_signature(cls.__init__, drop_self=True), "signature"
    try:
        return _from_signature(fn, drop_self=family == "tensor"), "signature"
    except (ValueError, TypeError):
        pass
    # a builtin's keyword names are its ATen schema's (``x.div(other=y)``; the docstring says
    # ``div(value)``); bindings written by hand (``numpy``, ``zeros(*size)``) have only a docstring
    params = _from_schema(torch, name, is_method=family == "tensor")
    if params is not None:
        return params, "aten_schema"
    params = _from_doc(fn, name)
    if params is not None:
        return params, "docstring"
    return None, "no_signature"


def main(argv: list[str]) -> None:
    if argv[1:2] == ["--minigrad-names"]:
        json.dump(minigrad_names(), sys.stdout, indent=1)
        return
    if argv[1:]:
        names = json.loads(Path(argv[1]).read_text())
    else:
        out = subprocess.run([str(ROOT / ".venv" / "bin" / "python"), __file__, "--minigrad-names"],
                             check=True, capture_output=True, text=True, cwd=ROOT).stdout
        names = json.loads(out)
    import torch

    entries, skipped, sources = [], {}, {}
    for family in ("torch", "functional", "tensor", "module"):
        for name in names[family]:
            params, source = torch_parameters(torch, family, name)
            if params is None:
                if source != "absent":
                    skipped.setdefault(family, []).append(name)
                continue
            sources[source] = sources.get(source, 0) + 1
            entries.append({"family": family, "name": name, "source": source, "params": params})
    data = {
        "torch_version": torch.__version__.split("+")[0],
        "generated_by": "scripts/torch_signatures.py",
        "counts": {"entries": len(entries), "by_source": sources,
                   "skipped_no_signature": sum(len(v) for v in skipped.values())},
        "skipped": skipped,
        "entries": entries,
    }
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps(data, indent=1) + "\n")
    print(f"{OUT.relative_to(ROOT)}: {len(entries)} entries {sources}, "
          f"skipped (no signature): {data['counts']['skipped_no_signature']} {skipped}")


if __name__ == "__main__":
    main(sys.argv)
