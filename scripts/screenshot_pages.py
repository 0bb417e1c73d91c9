"""Before/after screenshots of the docs pages a newcomer meets (issue #16), from two built sites.

    .venv/bin/python scripts/screenshot_pages.py BEFORE_SITE AFTER_SITE OUT [--only NAME ...]
        [--side before|after|both] [--shim FILE] [--width 1400] [--height 900]

Each page is opened from disk (a ``file://`` URL, as the README's "open site/index.html"
does) in headless Chromium at 1,400 x 900 px, scrollbars shown; the shot is the viewport or a region around
one element, saved as ``OUT/NAME-before.jpg`` / ``OUT/NAME-after.jpg`` (JPEG, quality 60
or lower until the file is at most 150 KB). What each page shows is also measured (links
that lead to folders, search results, raw reST roles, formulas typeset, widths past the
column and what scrolls them...)
and merged into ``OUT/measurements.json``, so the captions state figures, not impressions.
``--only minigrad-api`` redoes one shot (``--list`` names them); ``--side after`` keeps the
existing "before" images. ``--shim FILE`` (iframe-worker's ``shim/index.js``) answers the
search's request to unpkg.com from that file, for the ``search-online`` shot.

Needs Playwright and a Chromium (``/usr/bin/chromium``, Debian's ``chromium`` package),
like ``scripts/check_site_layout.py``, and Pillow (a matplotlib dependency) to compress.
The sites are built with ``mkdocs build -d DIR``: the "before" one from an old commit's
tree (``git archive COMMIT | tar -x -C DIR``), so the work tree is not touched.
"""

from __future__ import annotations

import argparse
import io
import json
import shutil
import sys
from pathlib import Path

MAX_BYTES = 150_000
SHIM: Path | None = None  # --shim: a local copy of the iframe-worker shim the offline plugin loads
QUALITY = 60

# For each element matching the selector (tables; for display formulas, MathJax's rendered
# <mjx-math>, not the container that always fits): its width, how far it reaches past the
# text column, and its nearest horizontally scrolling ancestor ("scroll box"). The box counts
# as inside the column when its right edge is, as scripts/check_site_layout.py counts it.
WIDE_JS = """(selector) => {
  const col = document.querySelector('.md-content__inner');
  if (!col) return null;
  const c = col.getBoundingClientRect();
  const out = [];
  for (const found of col.querySelectorAll(selector)) {
    if (found.closest('mjx-assistive-mml')) continue;  // MathJax's hidden copy for screen readers
    const el = found.matches('mjx-container') ? (found.querySelector(':scope > mjx-math') || found) : found;
    const r = el.getBoundingClientRect();
    let node = el.parentElement, box = null;
    while (node && node !== document.body) {
      const s = getComputedStyle(node);
      if ((s.overflowX === 'auto' || s.overflowX === 'scroll') && node.scrollWidth > node.clientWidth + 1) {
        box = node; break;
      }
      node = node.parentElement;
    }
    const boxRight = box ? box.getBoundingClientRect().right : null;
    out.push({width: Math.round(r.width), past_column: Math.round(r.right - c.right),
              scroll_box: box ? box.className || box.tagName.toLowerCase() : null,
              scroll_box_past_column: box ? Math.round(boxRight - c.right) : null,
              scrolls_inside_column: !!box && boxRight <= c.right + 1,
              top: r.top + window.scrollY, bottom: r.bottom + window.scrollY, height: r.height});
  }
  return {column_width: Math.round(c.width), items: out};
}"""


def chromium() -> str | None:
    return shutil.which("chromium") or shutil.which("chromium-browser")


def page_path(site: Path, name: str) -> Path:
    """``name`` ("getting-started", "api/nn") as a file: ``name.html`` (use_directory_urls: false)
    or ``name/index.html`` (the default)."""
    if name in ("", "index"):
        return site / "index.html"
    flat = site / f"{name}.html"
    return flat if flat.exists() else site / name / "index.html"


def open_page(page, site: Path, name: str) -> None:
    page.goto(page_path(site, name).resolve().as_uri())
    wait_for_math(page)


def wait_for_math(page) -> None:
    """Let MathJax finish typesetting (the pages load it from the site itself)."""
    page.evaluate("""async () => {
      if (window.MathJax && MathJax.startup && MathJax.startup.promise) await MathJax.startup.promise;
      return true;
    }""")
    page.wait_for_timeout(200)


def grab(page, clip: dict | None = None, element=None):
    """A screenshot (viewport, viewport region or element) as a Pillow image."""
    from PIL import Image

    png = element.screenshot(type="png") if element is not None else page.screenshot(type="png", clip=clip)
    return Image.open(io.BytesIO(png)).convert("RGB")


def write(image, out: Path) -> int:
    """Save as a JPEG of at most MAX_BYTES (lower quality, then smaller); its size in bytes."""
    from PIL import Image

    quality = QUALITY
    while True:
        buffer = io.BytesIO()
        image.save(buffer, "JPEG", quality=quality, optimize=True)
        if buffer.tell() <= MAX_BYTES:
            break
        if quality > 35:
            quality -= 5
        else:  # still too big: shrink instead
            image = image.resize((image.width * 4 // 5, image.height * 4 // 5), Image.LANCZOS)
    out.write_bytes(buffer.getvalue())
    return buffer.tell()


def save(page, out: Path, clip: dict | None = None, element=None) -> int:
    return write(grab(page, clip, element), out)


def save_stacked(page, out: Path, spans: list[tuple[float, float]]) -> int:
    """Several (top, height) bands of the page, one under the other with a grey rule between."""
    from PIL import Image

    bands = [grab(page, region(page, top, height)) for top, height in spans]
    width = max(b.width for b in bands)
    image = Image.new("RGB", (width, sum(b.height for b in bands) + 8 * (len(bands) - 1)), (160, 160, 160))
    y = 0
    for band in bands:
        image.paste(band, (0, y))
        y += band.height + 8
    return write(image, out)


HEADER = 60  # Material's header stays at the top of the window: keep shots below it


def region(page, top: float, height: float, left_margin: float = 20, right_margin: float = 24) -> dict:
    """A clip of the window, scrolled so that page coordinate ``top`` sits just below the header:
    the text column (a little wider on the right, to show what sticks out), ``height`` px down
    (at most the window's)."""
    page.evaluate("y => window.scrollTo(0, y)", max(0, top - HEADER))
    page.wait_for_timeout(100)
    scroll_y, col = page.evaluate("""() => {
      const c = document.querySelector('.md-content__inner');
      const r = c ? c.getBoundingClientRect() : {left: 0, right: window.innerWidth};
      return [window.scrollY, [r.left, r.right]];
    }""")
    size = page.viewport_size
    y = max(0, top - scroll_y)
    left = max(0, col[0] - left_margin)
    right = min(size["width"], col[1] + right_margin)
    return {"x": left, "y": y, "width": right - left, "height": max(1, min(height, size["height"] - y))}


def top_of(locator) -> float:
    return locator.evaluate("el => el.getBoundingClientRect().top + window.scrollY")


def section_clip(page, heading, height: float) -> dict:
    """From just above a heading down to the next heading of the same level, at most ``height``."""
    start = top_of(heading) - 16
    end = heading.evaluate("""h => {
      let n = h.nextElementSibling;
      while (n && n.tagName !== h.tagName) n = n.nextElementSibling;
      return n ? n.getBoundingClientRect().top + window.scrollY : null;
    }""")
    return region(page, start, min(height, (end - start) if end else height))


# ---------------------------------------------------------------------------------- the shots
# Each takes (page, site, out_file) and returns what it measured.

def shot_file_nav(page, site, out):
    """index.html opened from disk, then its "Getting started" menu link followed."""
    page.goto(page_path(site, "index").resolve().as_uri())
    links = page.evaluate("""() => {
      const hrefs = [...document.querySelectorAll('a[href]')].map(a => a.href)
        .filter(h => h.startsWith('file:') && !h.includes('#'));
      return {internal: hrefs.length, to_folders: hrefs.filter(h => h.endsWith('/')).length};
    }""")
    page.locator(".md-nav--primary a.md-nav__link", has_text="Getting started").first.click()
    page.wait_for_load_state()
    page.wait_for_timeout(300)
    result = {"index_internal_links": links["internal"], "index_links_to_folders": links["to_folders"],
              "landed_on": page.url.split(str(site.resolve()))[-1],
              "title": page.title(), "bytes": save(page, out)}
    return result


def _search(page, site, out):
    page.goto(page_path(site, "index").resolve().as_uri())
    page.wait_for_timeout(1500)  # Material hides the search box when its index or worker cannot load
    box = page.locator(".md-search__input")
    shown = box.is_visible()
    if shown:
        box.click()
        page.keyboard.type("softmax", delay=60)  # key by key: Material searches on key events
        page.wait_for_timeout(3000)
    meta = page.locator(".md-search-result__meta")
    shim = page.evaluate("() => [...document.scripts].map(s => s.src).filter(s => s.includes('iframe'))")
    return {"search_box_shown": shown, "results_listed": page.locator(".md-search-result__item").count(),
            "meta": meta.first.inner_text() if shown and meta.count() else None, "shim_scripts": shim,
            "bytes": save(page, out, clip={"x": 0, "y": 0, "width": page.viewport_size["width"],
                                           "height": 720})}


def shot_search(page, site, out):
    """index.html from disk, "softmax" typed into the search box, on this machine's network."""
    return _search(page, site, out)


def shot_search_online(page, site, out):
    """The same with the search's worker shim (unpkg.com/iframe-worker/shim) served from --shim FILE,
    as a browser with internet access gets it."""
    if SHIM is None:
        raise RuntimeError("needs --shim FILE (the iframe-worker package's shim/index.js)")
    page.route("https://unpkg.com/iframe-worker/shim",
               lambda route: route.fulfill(path=str(SHIM), content_type="application/javascript"))
    return _search(page, site, out)


PROGRAMS = ("python", "jupytext", "jupyter", "pip", "mkdocs", "pytest")


def _commands(texts: list[str]) -> dict:
    """Count the commands in code blocks or spans: bare programs (``python ...``, which need an
    activated venv) and ``.venv/bin/...`` ones (which work after the README's install)."""
    words = []
    for text in texts:
        for line in text.splitlines():
            tokens = [t for t in line.split("#")[0].split() if "=" not in t or t.startswith("-")]
            if tokens:
                words.append(tokens[0])
    bare = sum(w in PROGRAMS for w in words)
    venv = sum(w.startswith(".venv/bin/") for w in words)
    return {"commands": bare + venv, "bare": bare, "venv": venv}


def shot_getting_started(page, site, out):
    """The Getting-started page's "Run the tutorials" section."""
    open_page(page, site, "getting-started")
    heading = page.locator("h2#run-the-tutorials")
    blocks = heading.evaluate("""h => {
      const out = []; let n = h.nextElementSibling;
      while (n && n.tagName !== 'H2') {
        n.querySelectorAll('pre code').forEach(c => out.push(c.innerText));
        n = n.nextElementSibling;
      }
      return out;
    }""")
    return {**_commands(blocks), "bytes": save(page, out, clip=section_clip(page, heading, 560))}


def shot_tutorial_box(page, site, out):
    """Chapter 1's "Run it yourself" box."""
    open_page(page, site, "tutorials/01_tensors_and_autograd")
    box = page.locator(".admonition", has_text="Run it yourself").first
    codes = box.locator("code").all_inner_texts()
    return {**_commands(codes), "bytes": save(page, out, element=box)}


def shot_kernels_math(page, site, out):
    """The minigrad.kernels API page at kernels.softmax's module docstring ("For one row ...")."""
    open_page(page, site, "api/kernels")
    text = page.locator(".md-content").inner_text()
    anchor = page.locator(".md-content p", has_text="For one row").first
    result = {"math_roles": text.count(":math:"), "math_directives": text.count(".. math::"),
              "formulas_typeset": page.locator("mjx-container").count(),
              "bytes": save(page, out, clip=region(page, top_of(anchor) - 60, 520))}
    return result


def shot_nn_top(page, site, out):
    """The top of the minigrad.nn API page."""
    open_page(page, site, "api/nn")
    ids = page.evaluate("""() => [...document.querySelectorAll('.md-content .doc-heading')]
      .map(h => h.id).filter(i => i)""")
    names = [i.rsplit(".", 1)[-1] for i in ids if i.count(".") == 2]  # minigrad.nn.X, not members
    return {"first_objects": names[:8], "objects": len(names),
            "module_at": names.index("Module") + 1 if "Module" in names else None,
            "linear_at": names.index("Linear") + 1 if "Linear" in names else None,
            "bytes": save(page, out)}


def _wide(page, selector: str, out: Path, after_heading: str | None = None,
          head: float = 330, tail: float = 200):
    """The widest element matching ``selector`` (or the first one after the heading containing
    ``after_heading``) with the column around it: its first ``head`` px and, when it is taller,
    its last ``tail`` px, where a horizontal scrollbar would be."""
    found = page.evaluate(WIDE_JS, selector)
    items = found["items"]
    if after_heading:
        heading_top = top_of(page.locator("h2, h3", has_text=after_heading).first)
        item = min((i for i in items if i["top"] > heading_top), key=lambda i: i["top"])
        spans = [(heading_top - 10, item["bottom"] - heading_top + 60)]
    else:
        item = max(items, key=lambda i: i["width"])
        spans = [(item["top"] - 50, head + 50), (item["bottom"] - tail, tail + 30)]
        if item["height"] <= head + tail:
            spans = [(item["top"] - 50, item["height"] + 80)]
    wide = [i for i in items if i["past_column"] > 1]
    return {"column_width": found["column_width"], "width": item["width"], "past_column": item["past_column"],
            "scroll_box": item["scroll_box"], "scroll_box_past_column": item["scroll_box_past_column"],
            "scrolls_inside_column": item["scrolls_inside_column"],
            "wider_than_column_on_page": len(wide),
            "of_those_not_scrolling_inside_column": sum(not i["scrolls_inside_column"] for i in wide),
            "bytes": save_stacked(page, out, spans)}


def shot_benchmarks_table(page, site, out):
    """The benchmarks page's widest table (the kernels' compile report)."""
    open_page(page, site, "benchmarks")
    return _wide(page, "table", out)


def shot_explorer_table(page, site, out):
    """The matmul kernel page's compiler-explorer table (its widest table)."""
    open_page(page, site, "kernels/matmul")
    return _wide(page, "table", out)


def shot_wide_formula(page, site, out):
    """The initialization page at Kaiming / He: a display formula wider than the column."""
    open_page(page, site, "math/init")
    return _wide(page, 'mjx-container[display="true"]', out, after_heading="Kaiming")


def _figure(page, site, out, chapter: str, image: str):
    open_page(page, site, f"tutorials/{chapter}")
    img = page.locator(f'img[src*="{image}"]').first
    img.scroll_into_view_if_needed()
    size = img.evaluate("i => [i.naturalWidth, i.naturalHeight]")
    return {"natural_size": size, "bytes": save(page, out, element=img)}


def shot_graph(page, site, out):
    """Chapter 1's computation-graph drawing."""
    return _figure(page, site, out, "01_tensors_and_autograd", "01_graph")


def shot_heatmap_zoom(page, site, out):
    """Chapter 8's heat-map image itself, its first head at full size (what zooming in shows)."""
    from PIL import Image

    image = Image.open(next((site / "tutorials").rglob("08_attention.png"))).convert("RGB")
    return {"natural_size": list(image.size), "bytes": write(image.crop((0, 0, 520, image.height)), out)}


def shot_heatmap(page, site, out):
    """Chapter 8's attention heat maps."""
    return _figure(page, site, out, "08_transformer", "08_attention")


def shot_minigrad_api(page, site, out):
    """The minigrad API page's section that documents relu, from its heading: the ops listed under
    their modules (minigrad.ops.elementwise.relu) or under their public names (minigrad.relu)."""
    open_page(page, site, "api/minigrad")
    ids = page.evaluate("""() => [...document.querySelectorAll('.md-content .doc-heading')]
      .map(h => h.id).filter(i => i)""")
    relu = next((i for i in ids if i.endswith(".relu")), None)
    sections = page.locator(".md-content__inner > h2").all_inner_texts()
    result = {"objects": len(ids), "as_minigrad_name": sum(i.count(".") == 1 for i in ids),
              "under_minigrad_ops": sum(i.startswith("minigrad.ops.") for i in ids),
              "relu_id": relu, "sections": [s.strip("¶ \n") for s in sections]}
    section_top = page.evaluate("""(relu) => {
      const target = document.getElementById(relu);
      const before = [...document.querySelectorAll('.md-content__inner > h2')]
        .filter(h => h.compareDocumentPosition(target) & Node.DOCUMENT_POSITION_FOLLOWING);
      const h = before.length ? before[before.length - 1] : target;
      return h.getBoundingClientRect().top + window.scrollY;
    }""", relu)
    result["bytes"] = save(page, out, clip=region(page, section_top - 16, 620))
    return result


SHOTS = {
    "file-nav": shot_file_nav,
    "search": shot_search,
    "search-online": shot_search_online,
    "getting-started": shot_getting_started,
    "tutorial-box": shot_tutorial_box,
    "kernels-api": shot_kernels_math,
    "nn-api": shot_nn_top,
    "wide-formula": shot_wide_formula,
    "benchmarks-table": shot_benchmarks_table,
    "explorer-table": shot_explorer_table,
    "graph": shot_graph,
    "heatmap": shot_heatmap,
    "heatmap-zoom": shot_heatmap_zoom,
    "minigrad-api": shot_minigrad_api,
}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("before", type=Path, help="the site built from the old tree")
    parser.add_argument("after", type=Path, help="the site built from the current tree")
    parser.add_argument("out", type=Path, help="folder for the images and measurements.json")
    parser.add_argument("--only", action="append", choices=sorted(SHOTS), help="redo these shots only")
    parser.add_argument("--side", choices=("before", "after", "both"), default="both")
    parser.add_argument("--width", type=int, default=1400)
    parser.add_argument("--height", type=int, default=900)
    parser.add_argument("--list", action="store_true", help="name the shots and exit")
    parser.add_argument("--shim", type=Path, help="iframe-worker's shim/index.js, for the search-online shot")
    args = parser.parse_args()
    global SHIM
    SHIM = args.shim
    if args.list:
        for name, shot in SHOTS.items():
            print(f"{name:18} {shot.__doc__.splitlines()[0]}")
        return 0
    if chromium() is None:
        print("no chromium on PATH (Debian: apt-get install chromium)")
        return 1
    from playwright.sync_api import sync_playwright

    args.out.mkdir(parents=True, exist_ok=True)
    record = args.out / "measurements.json"
    measured = json.loads(record.read_text()) if record.exists() else {}
    sides = ("before", "after") if args.side == "both" else (args.side,)
    failed = 0
    with sync_playwright() as p:
        # Scrollbars shown (Playwright hides them by default): they are what makes wide content readable.
        browser = p.chromium.launch(executable_path=chromium(), args=["--no-sandbox", "--disable-gpu"],
                                    ignore_default_args=["--hide-scrollbars"])
        for name in args.only or list(SHOTS):
            for side in sides:
                site = args.before if side == "before" else args.after
                page = browser.new_page(viewport={"width": args.width, "height": args.height})
                try:
                    result = SHOTS[name](page, site, args.out / f"{name}-{side}.jpg")
                except Exception as error:  # one broken page must not stop the others
                    result = {"error": f"{type(error).__name__}: {str(error).splitlines()[0]}"}
                    failed += 1
                page.close()
                measured.setdefault(name, {})[side] = result
                print(f"{name}-{side}: {json.dumps(result)}")
        browser.close()
    record.write_text(json.dumps(measured, indent=1, sort_keys=True) + "\n")
    total = sum(f.stat().st_size for f in args.out.glob("*.jpg"))
    print(f"{len(list(args.out.glob('*.jpg')))} images, {total / 1e6:.2f} MB in {args.out}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
