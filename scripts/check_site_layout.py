"""Check the built site's layout in a real browser: no display formula, table or code block
may stick out of the text column without a scrollbar (clipped content a reader cannot see).
Then check that search works from disk with no network: ``index.html`` opened as a file
with every http(s) request refused, "softmax" typed in the search box, results listed.

    .venv/bin/python scripts/check_site_layout.py [site] [--width 1400] [--search-only]

Needs Playwright (``pip install playwright``) and a Chromium on the machine
(``/usr/bin/chromium``, e.g. Debian's ``chromium`` package; Playwright's own browser
download is not used). Without them it says so and exits 0: ``scripts/build_docs.sh``
runs it when it can. Exits 1 and lists the elements when something is clipped, or when
the search lists nothing.
"""

from __future__ import annotations

import argparse
import shutil
import sys
from pathlib import Path

# For each wide element: its right edge beyond the content column, unless an ancestor
# inside the column scrolls horizontally (then the reader can scroll to it).
CLIPPED_JS = """() => {
  const col = document.querySelector('.md-content__inner');
  if (!col) return [];
  const limit = col.getBoundingClientRect().right + 1;
  const out = [];
  for (const el of col.querySelectorAll('mjx-container[display="true"], table, pre, .arithmatex')) {
    const right = el.getBoundingClientRect().right;
    if (right <= limit) continue;
    let node = el.parentElement, scrolls = false;
    while (node && node !== col) {
      const style = getComputedStyle(node);
      if ((style.overflowX === 'auto' || style.overflowX === 'scroll')
          && node.getBoundingClientRect().right <= limit) { scrolls = true; break; }
      node = node.parentElement;
    }
    if (!scrolls) out.push(`${el.tagName.toLowerCase()} sticks out by ${Math.round(right - limit)} px`);
  }
  return out;
}"""


def chromium() -> str | None:
    return shutil.which("chromium") or shutil.which("chromium-browser")


def clipped(site: Path, width: int) -> dict[str, list[str]]:
    from playwright.sync_api import sync_playwright

    found = {}
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium(), args=["--no-sandbox", "--disable-gpu"])
        page = browser.new_page(viewport={"width": width, "height": 1000})
        for html in sorted(site.rglob("*.html")):
            if html.name == "404.html":
                continue
            page.goto(html.resolve().as_uri())
            page.wait_for_timeout(300)  # MathJax typesets after load
            problems = page.evaluate(CLIPPED_JS)
            if problems:
                found[str(html.relative_to(site))] = problems
        browser.close()
    return found


def search_from_file(site: Path, query: str = "softmax") -> dict:
    """Type ``query`` into the search box of ``site/index.html`` opened from ``file://``, with
    every http(s) request refused (a machine without internet). Returns whether the box
    shows, how many results are listed, Material's "N matching documents" line and the
    refused requests (a page that needs the internet lists them)."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout
    from playwright.sync_api import sync_playwright

    refused = []

    def refuse(route):
        refused.append(route.request.url)
        route.abort()

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium(), args=["--no-sandbox", "--disable-gpu"])
        page = browser.new_page()
        page.route(lambda url: url.startswith(("http://", "https://")), refuse)
        page.goto((site / "index.html").resolve().as_uri())
        box = page.locator(".md-search__input")
        page.wait_for_timeout(1500)  # Material hides the box when its search worker cannot start
        shown = box.is_visible()
        listed, meta = 0, None
        if shown:
            box.click()
            page.keyboard.type(query, delay=50)  # key by key: Material searches on key events
            try:
                page.wait_for_selector(".md-search-result__item", timeout=20_000)
            except PlaywrightTimeout:  # no result within 20 s: reported as 0 below
                pass
            listed = page.locator(".md-search-result__item").count()
            meta = page.locator(".md-search-result__meta").first.inner_text()
        browser.close()
    return {"box_shown": shown, "listed": listed, "meta": meta, "refused": refused}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("site", nargs="?", default="site")
    parser.add_argument("--width", type=int, default=1400, help="browser window width (px)")
    parser.add_argument("--search-only", action="store_true", help="skip the layout, check search only")
    args = parser.parse_args()
    try:
        import playwright  # noqa: F401
    except ImportError:
        print("layout check skipped: pip install playwright (and a Chromium) to run it")
        return 0
    if chromium() is None:
        print("layout check skipped: no chromium on PATH (Debian: apt-get install chromium)")
        return 0
    found = {} if args.search_only else clipped(Path(args.site), args.width)
    for page, problems in found.items():
        for problem in problems:
            print(f"{page}: {problem}")
    if not args.search_only:
        print(f"layout check at {args.width} px: {sum(map(len, found.values()))} clipped element(s) "
              f"on {len(found)} page(s)")
    search = search_from_file(Path(args.site))
    print(f"search from file:// with no network: box shown {search['box_shown']}, "
          f"{search['listed']} result(s) listed for 'softmax' ({search['meta']}); "
          f"refused requests: {search['refused'] or 'none'}")
    return 1 if found or not search["listed"] else 0


if __name__ == "__main__":
    sys.exit(main())
