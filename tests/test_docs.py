"""The documentation stays true to the code.

* The math reference (``docs/math/*.md``) has an entry linking to every optimizer in
  ``minigrad.optim``, every loss in ``minigrad.nn.functional`` (and loss module in
  ``minigrad.nn``) and every activation, and every name it links to exists.
* Every page is in the navigation, every navigation entry is a page.
* The tutorial chapters follow the chapter format the docs build relies on.

The docs build itself (``scripts/build_docs.sh``: tutorials in fast mode, then
``mkdocs build --strict``) runs in CI after the tests.
"""

import importlib.util
import inspect
import re
import sys
from pathlib import Path

import pytest

import minigrad
import minigrad.nn as nn
import minigrad.nn.functional as F
import minigrad.optim as optim

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
MATH = DOCS / "math"

# Names the math reference links to that are not written yet; their links render as
# "(coming soon)". Later work must empty this: the test fails once a name exists.
PENDING = ()

# PyTorch's activation names: whichever of them minigrad defines needs an entry.
ACTIVATION_FUNCTIONS = (
    "relu", "relu6", "leaky_relu", "elu", "selu", "celu", "gelu", "silu", "mish", "sigmoid",
    "hardsigmoid", "logsigmoid", "tanh", "hardtanh", "softplus", "softsign", "softmax",
    "log_softmax", "logsumexp", "tanhshrink", "prelu", "glu",
)
ACTIVATION_MODULES = (
    "ReLU", "ReLU6", "LeakyReLU", "ELU", "SELU", "CELU", "GELU", "SiLU", "Mish", "Sigmoid",
    "Hardsigmoid", "LogSigmoid", "Tanh", "Hardtanh", "Softplus", "Softsign", "Softmax",
    "LogSoftmax", "Tanhshrink", "PReLU", "GLU",
)


def _load_hook(name):
    spec = importlib.util.spec_from_file_location(f"docs_hooks_{name}", ROOT / "docs_hooks" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


links = _load_hook("pending_links")


def _math_pages():
    return sorted(MATH.glob("*.md"))


def _linked_targets():
    return {target for page in _math_pages() for _, target in links.link_targets(page.read_text())}


def _linked_objects():
    return [obj for obj in map(links.resolve, _linked_targets()) if obj is not None]


def _is_linked(obj) -> bool:
    return any(obj is linked for linked in _linked_objects())


def _optimizers():
    return [
        cls for _, cls in inspect.getmembers(optim, inspect.isclass)
        if issubclass(cls, optim.Optimizer) and cls is not optim.Optimizer
    ]


def _losses():
    functions = [getattr(F, n) for n in F.__all__ if n.endswith("_loss") or "cross_entropy" in n]
    modules = [cls for name, cls in inspect.getmembers(nn, inspect.isclass)
               if name.endswith("Loss") and issubclass(cls, nn.Module)]
    return functions + modules


def _activations():
    found = []
    for name in ACTIVATION_FUNCTIONS:
        for namespace in (minigrad, F):
            if hasattr(namespace, name):
                found.append((f"{namespace.__name__}.{name}", getattr(namespace, name)))
    found += [(f"minigrad.nn.{n}", getattr(nn, n)) for n in ACTIVATION_MODULES if hasattr(nn, n)]
    return found


def test_the_lists_being_checked_are_not_empty():
    assert len(_optimizers()) >= 5, _optimizers()
    assert len(_losses()) >= 6, _losses()
    assert len(_activations()) >= 15, _activations()
    assert len(_linked_targets()) >= 40


def test_every_optimizer_has_a_math_entry():
    missing = [cls.__name__ for cls in _optimizers() if not _is_linked(cls)]
    assert not missing, f"add these optimizers to docs/math/optimizers.md: {missing}"


def test_every_loss_has_a_math_entry():
    missing = [obj.__name__ for obj in _losses() if not _is_linked(obj)]
    assert not missing, f"add these losses to docs/math/losses.md: {missing}"


def test_every_activation_has_a_math_entry():
    missing = [name for name, obj in _activations() if not _is_linked(obj)]
    assert not missing, f"add these activations to docs/math/activations.md: {missing}"


def test_every_linked_name_exists_or_is_pending():
    broken = sorted(t for t in _linked_targets() if links.resolve(t) is None and t not in PENDING)
    assert not broken, f"the math reference links to names that do not exist: {broken}"


def test_pending_names_do_not_exist_yet():
    landed = [name for name in PENDING if links.resolve(name) is not None]
    assert not landed, f"these names exist now: remove them from PENDING in tests/test_docs.py: {landed}"
    assert set(links.pending_names()) == set(PENDING), "the docs hook must read this PENDING list"


def test_math_index_lists_every_math_page():
    # index.md is a table of the other pages, not a page of entries: every other page must
    # be linked from it, and every page it links must exist
    index = MATH / "index.md"
    linked = set(re.findall(r"\]\(([\w-]+\.md)\)", index.read_text()))
    pages = {p.name for p in _math_pages()} - {"index.md"}
    assert pages, "docs/math has no pages besides index.md"
    assert linked == pages, (f"docs/math/index.md: pages not linked {sorted(pages - linked)}, "
                             f"links to missing pages {sorted(linked - pages)}")


@pytest.mark.parametrize("page", [p for p in _math_pages() if p.name != "index.md"],
                         ids=lambda p: p.name)
def test_every_math_entry_names_its_implementation(page):
    entries = re.split(r"^## ", page.read_text(), flags=re.M)[1:]
    assert entries, f"{page.name} has no '## ' entries"
    for entry in entries:
        title = entry.splitlines()[0]
        assert "**Implemented by:**" in entry, f"{page.name}: entry '{title}' has no 'Implemented by' line"
        assert "$$" in entry, f"{page.name}: entry '{title}' states no formula"


def _nav_pages(nav):
    for item in nav:
        if isinstance(item, str):
            yield item
        elif isinstance(item, dict):
            for value in item.values():
                yield from _nav_pages(value) if isinstance(value, list) else [value]


def test_every_page_is_in_the_navigation_and_every_entry_exists():
    yaml = pytest.importorskip("yaml", reason="PyYAML comes with the docs extra: pip install -e '.[docs]'")
    config = yaml.safe_load((ROOT / "mkdocs.yml").read_text())
    in_nav = set(_nav_pages(config["nav"]))
    on_disk = {p.relative_to(DOCS).as_posix() for p in DOCS.rglob("*.md")}
    assert not in_nav - on_disk, f"navigation entries without a page: {sorted(in_nav - on_disk)}"
    assert not on_disk - in_nav, f"pages missing from the nav in mkdocs.yml: {sorted(on_disk - in_nav)}"


cells = _load_hook("cells")
CHAPTERS = sorted((ROOT / "tutorials").glob("[0-9][0-9]_*.py"))


@pytest.mark.parametrize("chapter", CHAPTERS, ids=lambda p: p.stem)
def test_chapter_format(chapter):
    text = chapter.read_text()
    parsed = cells.parse_cells(text)
    number = int(chapter.name[:2])
    assert parsed[0].kind == "markdown", f"{chapter.name}: start with a '# %% [markdown]' title cell"
    assert cells.title_of(text).startswith(f"{number}. "), f"{chapter.name}: title '# {number}. ...'"
    assert "What you will build" in parsed[0].source
    assert parsed[-1].kind == "code" and "assert" in parsed[-1].source, (
        f"{chapter.name}: end with a code cell of assertions (running the chapter is its test)"
    )
    assert "## Exercises" in text and "<summary>Hint</summary>" in text
    names = re.findall(r"save_figure\(\s*\w+\s*,\s*[\"']([^\"']+)[\"']", text)
    assert names and all(n.startswith(chapter.name[:3]) for n in names), (
        f"{chapter.name}: save figures as save_figure(fig, '{chapter.name[:3]}name'), got {names}"
    )


def test_cells_render_as_markdown_with_outputs_and_figures():
    script = "# %% [markdown]\n# # 1. T\n#\n# $x^2$\n\n# %%\nprint(1)\n\n# %%\nx = 2\n"
    parsed = cells.parse_cells(script)
    assert [c.kind for c in parsed] == ["markdown", "code", "code"]
    page = cells.to_markdown(parsed, [{}, {"output": "1\n", "figures": ["01_a"]},
                                      {"output": "", "figures": []}], "HEADER\n", "figures")
    assert page.startswith("# 1. T\n\n$x^2$\n")
    assert "HEADER" in page and "```python\nprint(1)\n```" in page
    assert '```text title="output"\n1\n```' in page and "![01_a](figures/01_a.png)" in page
    assert "```python\nx = 2\n```" in page
