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


# --- Chapter 1's graph drawing: no edge passes behind a box (issue #16) -----------------


def _chapter1_drawing(path=None):
    """``collect_graph`` and ``draw_graph`` from chapter 1's source, without running the chapter."""
    import ast

    path = path or next((ROOT / "tutorials").glob("01_*.py"))
    tree = ast.parse(path.read_text())
    funcs = [n for n in tree.body
             if isinstance(n, ast.FunctionDef) and n.name in ("collect_graph", "draw_graph")]
    namespace = {}
    exec(compile(ast.Module(body=funcs, type_ignores=[]), str(path), "exec"), namespace)
    return namespace["draw_graph"]


def _edges_through_boxes(draw_graph, root, names, figsize):
    """Points of the drawn edges that lie inside a box (display pixels, 2 px inside its border)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    fig, ax = plt.subplots(figsize=figsize)
    try:
        draw_graph(root, names, ax)
        fig.canvas.draw()
        boxes = [t.get_bbox_patch().get_window_extent() for t in ax.texts
                 if t.get_bbox_patch() is not None and not hasattr(t, "arrow_patch")]
        paths = [line.get_transform().transform_path(line.get_path()) for line in ax.lines]
        paths += [t.arrow_patch.get_transform().transform_path(t.arrow_patch.get_path())
                  for t in ax.texts if getattr(t, "arrow_patch", None) is not None]
        hits = []
        for path in paths:
            for polygon in path.to_polygons(closed_only=False):
                for (x0, y0), (x1, y1) in zip(polygon[:-1], polygon[1:]):
                    n = max(2, int(np.hypot(x1 - x0, y1 - y0)))  # a point every pixel
                    for x, y in zip(np.linspace(x0, x1, n), np.linspace(y0, y1, n)):
                        for box in boxes:
                            if box.x0 + 2 < x < box.x1 - 2 and box.y0 + 2 < y < box.y1 - 2:
                                hits.append((round(x), round(y)))
        return len(boxes), hits
    finally:
        plt.close(fig)


def _chapter1_graphs():
    """The chapter's graph (L = sum((tanh(w x + b) - t)^2)) and exercise 2's ((a b + a).exp())."""
    w = minigrad.tensor(0.5, requires_grad=True)
    b = minigrad.tensor(-0.3, requires_grad=True)
    xs, ts = minigrad.tensor([1.0, 2.0, -1.0]), minigrad.tensor([0.2, 0.7, -0.4])
    z = w * xs + b
    h = z.tanh()
    loss = ((h - ts) ** 2).sum()
    names = {id(w): "w", id(b): "b", id(xs): "x", id(ts): "t", id(z): "z", id(h): "h", id(loss): "L"}
    a2, b2 = minigrad.tensor(2.0, requires_grad=True), minigrad.tensor(3.0, requires_grad=True)
    y2 = (a2 * b2 + a2).exp()
    return [(loss, names, (11, 3.6), 10), (y2, {id(a2): "a", id(b2): "b", id(y2): "y"}, (8, 3), 5)]


@pytest.mark.parametrize("case", [0, 1], ids=["chapter", "exercise-2"])
def test_chapter1_graph_edges_do_not_pass_behind_boxes(case):
    root, names, figsize, n_boxes = _chapter1_graphs()[case]
    boxes, hits = _edges_through_boxes(_chapter1_drawing(), root, names, figsize)
    assert boxes == n_boxes
    assert not hits, f"{len(hits)} edge points inside a box, e.g. at {hits[:3]} (display px)"


# --- The site's Worker polyfill for file:// pages (docs/javascripts/iframe-worker-file.js) ---

_WORKER_JS = """
addEventListener("message", (event) => {
  if (event.data === "boom") throw new Error("boom");
  if (event.data === "import") {
    importScripts("lib/extra.js").then(() => postMessage({imported: self.extraValue}));
    return;
  }
  if (event.data && event.data.list) event.data.list.push("changed by the worker");
  postMessage({echo: event.data, thread: typeof document === "undefined"});
});
"""

# Each step resolves to what the page saw; the worker lives in workers/, as Material's does.
_POLYFILL_PAGE_JS = """async () => {
  const out = {worker: Worker.name};
  const answer = (w) => new Promise((resolve) => { w.onmessage = (e) => resolve(e.data); });
  const w = new Worker("workers/echo.js");
  const sent = {list: [1, 2]};
  const first = answer(w);
  w.postMessage(sent);                       // posted before the script has loaded
  out.first = await first;
  out.sentUnchanged = sent.list.length === 2;
  out.viaListener = await new Promise((resolve) => {
    w.addEventListener("message", (e) => resolve(e.data), {once: true});
    w.postMessage("second");
  });
  out.imported = await (async () => { const a = answer(w); w.postMessage("import"); return a; })();
  out.error = await new Promise((resolve) => { w.onerror = (e) => resolve(e.message); w.postMessage("boom"); });
  w.terminate();
  let late = false;
  w.onmessage = () => { late = true; };
  w.postMessage("after terminate");
  await new Promise((resolve) => setTimeout(resolve, 300));
  out.afterTerminate = late;
  out.frames = document.querySelectorAll("iframe").length;
  return out;
}"""


def _polyfill_site(tmp_path):
    if importlib.util.find_spec("playwright") is None:
        pytest.skip("needs playwright (pip install playwright) and a Chromium")
    import shutil

    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium is None:
        pytest.skip("needs a Chromium on PATH (Debian: apt-get install chromium)")
    (tmp_path / "workers" / "lib").mkdir(parents=True)
    shutil.copy(DOCS / "javascripts" / "iframe-worker-file.js", tmp_path)
    (tmp_path / "workers" / "echo.js").write_text(_WORKER_JS)
    (tmp_path / "workers" / "lib" / "extra.js").write_text("self.extraValue = 42;\n")
    (tmp_path / "index.html").write_text(
        '<!doctype html><html><head><script src="iframe-worker-file.js"></script></head><body></body></html>')
    return chromium


def test_worker_polyfill_runs_a_worker_from_file_url(tmp_path):
    chromium = _polyfill_site(tmp_path)  # skips without playwright and Chromium: before the import
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, args=["--no-sandbox", "--disable-gpu"])
        page = browser.new_page()
        page.goto((tmp_path / "index.html").as_uri())
        seen = page.evaluate(_POLYFILL_PAGE_JS)
        browser.close()
    assert seen["worker"] == "FileWorker"
    # the message reached the worker's listener and came back; the worker got a copy
    assert seen["first"] == {"echo": {"list": [1, 2, "changed by the worker"]}, "thread": False}
    assert seen["sentUnchanged"]
    assert seen["viaListener"] == {"echo": "second", "thread": False}  # it ran in the iframe
    assert seen["imported"] == {"imported": 42}  # importScripts, relative to the worker's URL
    # the exception reached onerror; Chromium mutes file:// scripts' messages ("Script error.")
    assert seen["error"] in ("Script error.", "Uncaught Error: boom")
    assert seen["afterTerminate"] is False and seen["frames"] == 0


def test_worker_polyfill_keeps_the_native_worker_over_http(tmp_path):
    import functools
    import http.server
    import threading

    chromium = _polyfill_site(tmp_path)  # skips without playwright and Chromium: before the import
    from playwright.sync_api import sync_playwright

    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(tmp_path))
    handler.log_message = lambda *args: None
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=chromium, args=["--no-sandbox", "--disable-gpu"])
            page = browser.new_page()
            page.goto(f"http://127.0.0.1:{server.server_port}/index.html")
            seen = page.evaluate("""async () => {
              const w = new Worker("workers/echo.js");
              const data = await new Promise((resolve) => {
                w.onmessage = (e) => resolve(e.data);
                w.postMessage(7);
              });
              w.terminate();
              return {worker: Worker.name, data, frames: document.querySelectorAll("iframe").length};
            }""")
            browser.close()
    finally:
        server.shutdown()
    assert seen == {"worker": "Worker", "data": {"echo": 7, "thread": True}, "frames": 0}  # a real thread


def test_site_check_fails_on_a_script_from_the_internet(tmp_path):
    spec = importlib.util.spec_from_file_location("check_site", ROOT / "scripts" / "check_site.py")
    check_site = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(check_site)
    (tmp_path / "search").mkdir()
    (tmp_path / "search" / "search_index.js").write_text("var __index = {}")
    (tmp_path / "javascripts").mkdir()
    (tmp_path / "javascripts" / "iframe-worker-file.js").write_text("")
    page = tmp_path / "index.html"
    page.write_text('<script src="javascripts/iframe-worker-file.js"></script>')
    assert check_site.problems(tmp_path) == []
    page.write_text('<script src="https://unpkg.com/iframe-worker/shim"></script>\n'
                    '<script defer SRC="//cdn.example.org/x.js"></script>')
    found = check_site.problems(tmp_path)
    assert len(found) == 2 and all("loads a script from the internet" in f for f in found), found
