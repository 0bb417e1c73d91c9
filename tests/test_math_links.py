"""Every formula points at the class whose ``backward`` implements it.

Every gradient lives in ``minigrad/ops/<family>.py`` as a ``Function``. The math
reference (``docs/math/*.md``) gives each entry with its own gradient a
**Backward** line of links such as ``[`ops.reduce.Softmax`][minigrad.ops.reduce.Softmax]``,
and the tutorials end each derivation with a sentence such as "In minigrad this
backward is `Softmax.backward` in `minigrad/ops/reduce.py`". These tests check:

* each link to a class under ``minigrad.ops`` names a ``Function`` defined in that
  module, with its own ``backward``;
* each ``Function`` that an op linked from docs/math applies (read from the op's
  source, following helper functions inside ``minigrad.ops``) is linked from some
  entry, unless it is in the commented ``NO_ENTRY`` list;
* each "`Name.backward`" and "`name` in `minigrad/...py`" of a tutorial's Markdown
  names something that exists in the file the same paragraph names.

(``tests/test_docs.py`` checks the public names the entries link to.)
"""

import ast
import functools
import importlib
import importlib.util
import inspect
import re
import sys
import textwrap
from pathlib import Path

import pytest

import minigrad
from minigrad.tensor import Function

ROOT = Path(__file__).resolve().parent.parent
MATH = ROOT / "docs" / "math"
TUTORIALS = sorted((ROOT / "tutorials").glob("[0-9][0-9]_*.py"))

# Functions that a linked op applies on its way but that have no formula of their own in
# docs/math: the formula of the entry is the op's, and these are its building blocks.
# Each name must stay true (applied by a linked op, linked from no entry): see
# test_no_entry_list_is_current.
# (Sub, Log, Sqrt, PowScalar were listed while the reader also read docstrings, where "sqrt(a² + b²)"
# counted as applying Sqrt; it reads code only now, and no linked op's code names them.)
NO_ENTRY: set[str] = set()


def _load_hook(name):
    spec = importlib.util.spec_from_file_location(f"math_links_{name}", ROOT / "docs_hooks" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


links = _load_hook("pending_links")
cells = _load_hook("cells")


def _entries():
    """(page name, entry title, entry text) of every '## ' entry but index.md's."""
    for page in sorted(MATH.glob("*.md")):
        if page.name == "index.md":
            continue
        for entry in re.split(r"^## ", page.read_text(), flags=re.M)[1:]:
            yield page.name, entry.splitlines()[0], entry


def _class_links():
    """{target: [where]} of every link to a class under minigrad.ops."""
    found = {}
    for page, title, entry in _entries():
        for _, target in links.link_targets(entry):
            if target.startswith("minigrad.ops.") and inspect.isclass(links.resolve(target)):
                found.setdefault(target, []).append(f"{page}: {title}")
    return found


def _is_op_function(obj) -> bool:
    return (inspect.isclass(obj) and issubclass(obj, Function) and obj is not Function
            and obj.__module__.startswith("minigrad.ops."))


def _dotted(cls) -> str:
    return f"{cls.__module__}.{cls.__name__}"


def _applied(obj, depth: int = 2, seen=None) -> set:
    """The op Functions whose names appear in ``obj``'s source, following the functions of
    ``minigrad.ops`` it names (``depth`` levels): what a call of ``obj`` may apply."""
    seen = set() if seen is None else seen
    if depth < 0 or id(obj) in seen:
        return set()
    seen.add(id(obj))
    try:
        source = inspect.getsource(obj)
    except (OSError, TypeError):
        return set()
    namespace = vars(sys.modules[obj.__module__])
    found = set()
    for name in _code_names(source):
        value = namespace.get(name)
        if _is_op_function(value):
            found.add(value)
        elif inspect.isfunction(value) and value.__module__.startswith("minigrad.ops."):
            found |= _applied(value, depth - 1, seen)
    return found


def _code_names(source: str) -> set:
    """The names in ``source`` outside its docstrings (whose formulas say ``\\sum``, ``\\log``)."""
    lines = textwrap.dedent(source).splitlines()
    for node in ast.walk(ast.parse("\n".join(lines))):
        body = getattr(node, "body", None)
        if (isinstance(body, list) and body and isinstance(body[0], ast.Expr)
                and isinstance(body[0].value, ast.Constant) and isinstance(body[0].value.value, str)):
            for i in range(body[0].lineno - 1, body[0].end_lineno):
                lines[i] = ""
    return set(re.findall(r"\b[A-Za-z_]\w*\b", "\n".join(lines)))


@functools.cache  # reading the sources takes a second or two: once per session
def _applied_by_linked_ops() -> dict:
    """{Function: [entries]} for the Functions applied by the ops the entries link."""
    found = {}
    for page, title, entry in _entries():
        for _, target in links.link_targets(entry):
            obj = links.resolve(target)
            if obj is None or _is_op_function(obj) or not (inspect.isfunction(obj) or inspect.isclass(obj)):
                continue
            for cls in _applied(obj):
                found.setdefault(cls, []).append(f"{page}: {title}")
    return found


def test_the_lists_being_checked_are_not_empty():
    assert len(_class_links()) >= 60, sorted(_class_links())
    assert len(_applied_by_linked_ops()) >= 60


def test_the_source_reader_finds_what_an_op_applies():
    # a direct .apply, a Function handed to a helper, and one level of delegation
    from minigrad.ops import activation, reduce
    from minigrad.ops.loss import CrossEntropy
    assert reduce.Softmax in _applied(minigrad.softmax)
    assert activation.SiLU in _applied(activation.silu)
    assert activation.ELU in _applied(activation.selu)
    assert CrossEntropy in _applied(minigrad.nn.functional.cross_entropy)
    assert not _applied(minigrad.optim.SGD)
    # a docstring's formula names nothing the code applies
    names = _code_names('def f(x):\n    r"""$\\sum_i \\log x_i$."""\n    return g(x)\n')
    assert "g" in names and not {"sum", "log"} & names


def test_every_linked_class_is_a_function_with_its_own_backward():
    bad = []
    for target, where in _class_links().items():
        cls = links.resolve(target)
        module = target.rsplit(".", 1)[0]
        if not _is_op_function(cls):
            bad.append(f"{target} ({where[0]}): not a Function subclass")
        elif cls.__module__ != module:
            bad.append(f"{target} ({where[0]}): defined in {cls.__module__}, link its home module")
        elif "backward" not in vars(cls):
            bad.append(f"{target} ({where[0]}): has no backward of its own")
    assert not bad, "docs/math links to classes that do not hold a gradient:\n" + "\n".join(bad)


def test_every_applied_function_is_linked_from_an_entry():
    linked = {links.resolve(t) for t in _class_links()}
    missing = sorted(
        f"{_dotted(cls)} (applied by the ops of: {'; '.join(sorted(set(where)))})"
        for cls, where in _applied_by_linked_ops().items()
        if cls not in linked and _dotted(cls) not in NO_ENTRY and not cls.__name__.startswith("_")
    )
    assert not missing, ("link these Functions from a **Backward:** line of the entry that states "
                         "their formula (or add them to NO_ENTRY, with the reason):\n" + "\n".join(missing))


def test_no_entry_list_is_current():
    applied = {_dotted(cls) for cls in _applied_by_linked_ops()}
    linked = set(_class_links())
    stale = sorted(name for name in NO_ENTRY if name not in applied or name in linked)
    assert not stale, f"remove from NO_ENTRY (now linked, or no linked op applies them): {stale}"


def _markdown_paragraphs(chapter: Path):
    for cell in cells.parse_cells(chapter.read_text()):
        if cell.kind == "markdown":
            yield from (p for p in re.split(r"\n\s*\n", cell.source) if p.strip())


GRADIENT_NAME = re.compile(r"`(\w+)\.backward`")
NAME_IN_FILE = re.compile(r"`(\w+)`(?: \([^)]*\))? in `(minigrad/[\w/]+\.py)`")
SOURCE_FILE = re.compile(r"`(minigrad/[\w/]+\.py)`")


def _module_of(path: str):
    return importlib.import_module(path[: -len(".py")].replace("/", ".").removesuffix(".__init__"))


def _where_tutorials_name_gradients():
    for chapter in TUTORIALS:
        for paragraph in _markdown_paragraphs(chapter):
            yield chapter.name, paragraph


def test_tutorials_name_where_each_gradient_lives():
    named = [(ch, name) for ch, p in _where_tutorials_name_gradients() for name in GRADIENT_NAME.findall(p)]
    chapters = {ch for ch, _ in named}
    assert len(named) >= 20 and len(chapters) >= 9, (
        f"the tutorials name only {len(named)} backward methods, in {sorted(chapters)}")


def test_every_gradient_a_tutorial_names_exists_in_the_file_it_names():
    bad = []
    for chapter, paragraph in _where_tutorials_name_gradients():
        files = SOURCE_FILE.findall(paragraph)
        for path in files:
            if not (ROOT / path).is_file():
                bad.append(f"{chapter}: no file {path}")
        modules = [_module_of(p) for p in files if p.startswith("minigrad/ops/") and (ROOT / p).is_file()]
        for name in GRADIENT_NAME.findall(paragraph):
            homes = [m for m in modules if _is_op_function(getattr(m, name, None))
                     and getattr(m, name).__module__ == m.__name__ and "backward" in vars(getattr(m, name))]
            if not homes:
                bad.append(f"{chapter}: `{name}.backward` is not a Function of {files or 'any file named'}")
        for name, path in NAME_IN_FILE.findall(paragraph):
            if (ROOT / path).is_file() and not hasattr(_module_of(path), name):
                bad.append(f"{chapter}: `{name}` is not in {path}")
    assert not bad, "\n".join(bad)


@pytest.mark.parametrize("bad_text, complaint", [
    ("In minigrad this backward is `Softmax.backward` in `minigrad/ops/loss.py`.", "not a Function of"),
    ("It is `NoSuch.backward` in `minigrad/ops/reduce.py`.", "not a Function of"),
    ("It is `Softmax.backward` in `minigrad/ops/nowhere.py`.", "no file"),
    ("The helper `no_helper` in `minigrad/ops/stable.py`.", "is not in"),
])
def test_the_tutorial_check_catches_a_wrong_name(monkeypatch, bad_text, complaint):
    monkeypatch.setattr(sys.modules[__name__], "_where_tutorials_name_gradients",
                        lambda: iter([("00_fake.py", bad_text)]))
    with pytest.raises(AssertionError, match=complaint):
        test_every_gradient_a_tutorial_names_exists_in_the_file_it_names()
