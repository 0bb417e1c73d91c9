"""Every op is documented with its formula, and the API reference lists it as ``minigrad.<name>``.

* The docstring of every public function of ``minigrad`` defined in ``minigrad.ops`` and of
  every function of ``minigrad.nn.functional`` states its math in ``$...$`` or ``$$...$$``
  (the forward formula and the gradient its backward computes).
* ``docs/api/minigrad.md`` lists every such op: a ``::: minigrad.<name>`` block, or for an
  alias (``minigrad.clamp is minigrad.clip``) its name on the page next to the block of the
  object it names; every block names something that exists.
* ``docs/api/ops.md`` ("Where each gradient lives") has a block for every module of
  ``minigrad/ops/``, which is where the ``minigrad.ops.<family>.<Function>`` anchors that
  docs/math links to are rendered.
* The Griffe extension the docs build loads (``docs_hooks/griffe_exports.py``) gives each
  ``minigrad.<name>`` the definition Python gives it, so ``::: minigrad.sort`` renders the
  function ``sort``, not the module ``minigrad.ops.sort``.

These read the Markdown and the docstrings; the built pages are checked by ``mkdocs build --strict``.
"""

import importlib
import inspect
import re
from pathlib import Path

import pytest

import minigrad
import minigrad.nn.functional as F

ROOT = Path(__file__).resolve().parent.parent
API = ROOT / "docs" / "api"
MATH = re.compile(r"\$[^$\s][^$]*\$")  # $...$ or $$...$$ with something inside

# Functions whose docstring may state no formula, each with the reason (keep this short).
NO_FORMULA = {
}


def _ops():
    """{name: function} of the public functions of ``minigrad`` defined in ``minigrad.ops``."""
    return {name: obj for name in dir(minigrad) if not name.startswith("_")
            for obj in [getattr(minigrad, name)]
            if inspect.isfunction(obj) and obj.__module__.startswith("minigrad.ops.")}


def _functional():
    return {name: getattr(F, name) for name in F.__all__ if inspect.isfunction(getattr(F, name))}


def _lacks_math(fn) -> bool:
    return not MATH.search(inspect.getdoc(fn) or "")


def _blocks(page: str) -> list[str]:
    """The identifiers of the ``::: identifier`` blocks of an API page."""
    return re.findall(r"^::: ([\w.]+)\s*$", (API / page).read_text(), flags=re.M)


def test_the_lists_being_checked_are_not_empty():
    assert len(_ops()) >= 200, len(_ops())
    assert len(_functional()) >= 60, len(_functional())


def test_the_math_check_tells_a_formula_from_prose():
    def with_formula():
        r"""Returns $y = x^2$, with $\partial L/\partial x = 2 x g$."""

    def with_display():
        r"""The softmax.

        $$y_i = e^{x_i} / \sum_j e^{x_j}$$
        """

    def without():
        """Returns the square of x (costs $5 on a cloud GPU? no: no closing dollar)."""

    assert not _lacks_math(with_formula) and not _lacks_math(with_display)
    assert _lacks_math(without) and _lacks_math(lambda: None)


@pytest.mark.parametrize("namespace, functions", [("minigrad", _ops), ("minigrad.nn.functional", _functional)])
def test_every_op_states_its_formula(namespace, functions):
    missing = sorted(f"{namespace}.{name} ({fn.__module__})" for name, fn in functions().items()
                     if _lacks_math(fn) and f"{namespace}.{name}" not in NO_FORMULA)
    assert not missing, ("these docstrings state no formula: add the forward formula and the "
                         "gradient in $...$ (Google style):\n" + "\n".join(missing))


def test_the_allow_list_is_current():
    stale = [name for name in NO_FORMULA
             if not _lacks_math(getattr(importlib.import_module(name.rsplit(".", 1)[0]), name.rsplit(".", 1)[1]))]
    assert not stale, f"these now state a formula: remove them from NO_FORMULA: {stale}"


def test_every_op_is_listed_as_minigrad_name():
    text = (API / "minigrad.md").read_text()
    blocks = {b.removeprefix("minigrad.") for b in _blocks("minigrad.md") if b.startswith("minigrad.")}
    documented = {id(getattr(minigrad, b, None)) for b in blocks}
    missing = []
    for name, fn in _ops().items():
        if name in blocks:
            continue
        # an alias (clamp = clip): named on the page, and the object it names has a block
        if id(fn) in documented and re.search(rf"`{name}`", text):
            continue
        missing.append(name)
    assert not missing, (f"docs/api/minigrad.md does not list these ops: add a '::: minigrad.<name>' "
                         f"block in their group (or name an alias next to its target): {sorted(missing)}")


def test_every_block_names_something_that_exists():
    stale = [b for b in _blocks("minigrad.md") + _blocks("ops.md")
             if b.startswith("minigrad.") and not _exists(b)]
    assert not stale, f"docs/api blocks for names that do not exist: {stale}"


def _exists(dotted: str) -> bool:
    parts = dotted.split(".")
    for cut in range(len(parts), 0, -1):
        try:
            obj = importlib.import_module(".".join(parts[:cut]))
        except ImportError:
            continue
        return all((obj := getattr(obj, p, None)) is not None for p in parts[cut:])
    return False


def test_ops_page_maps_every_family():
    families = {p.stem for p in (ROOT / "minigrad" / "ops").glob("*.py") if not p.stem.startswith("_")}
    listed = {b.removeprefix("minigrad.ops.") for b in _blocks("ops.md") if b.count(".") == 2}
    missing = sorted(f"minigrad.ops.{name}" for name in families - listed)
    assert not missing, f"docs/api/ops.md has no '::: <module>' block for {missing}"


def test_no_op_is_rendered_twice_on_the_minigrad_page():
    blocks = _blocks("minigrad.md")
    assert len(blocks) == len(set(blocks)), sorted(b for b in blocks if blocks.count(b) > 1)


def test_the_griffe_extension_gives_each_name_its_definition():
    griffe = pytest.importorskip("griffe", reason="Griffe comes with the docs extra: pip install -e '.[docs]'")
    extensions = griffe.load_extensions(str(ROOT / "docs_hooks" / "griffe_exports.py"))
    package = griffe.load("minigrad", search_paths=[str(ROOT)], extensions=extensions,
                          resolve_aliases=False, resolve_external=False)
    wrong = []
    for name, fn in _ops().items():
        if fn.__name__ != name:  # an alias made by assignment (clamp = clip): not a block of its own
            continue
        expected = f"{fn.__module__}.{fn.__name__}"
        try:
            found = package[name].canonical_path
        except KeyError:
            found = None
        if found != expected:
            wrong.append(f"minigrad.{name}: Griffe sees {found}, Python {expected}")
    assert not wrong, "\n".join(wrong)
