"""Check the built site (``site/``) as a reader opening it from disk would meet it.

Run by ``scripts/build_docs.sh`` after ``mkdocs build``; exits 1 with a list of problems:

* every internal link points to a file that exists (``page.html``, not ``page/``: a
  folder link opened from ``file://`` shows a directory listing);
* search works offline (the offline plugin's ``search/search_index.js`` is there);
* no page loads a script from the internet (``<script src="https://...">``): with no network
  it fails, and Material's offline plugin adds one (``unpkg.com/iframe-worker/shim``, the
  search worker's stand-in on ``file://``) unless mkdocs.yml lists our own
  ``javascripts/iframe-worker-file.js`` under ``extra.polyfills``;
* no reST markup leaked into a page (``:class:`X```, ``:math:`x```, ``.. math::``).
"""

from __future__ import annotations

import re
import sys
from pathlib import Path
from urllib.parse import unquote, urlsplit

HREF = re.compile(r'(?:href|src)="([^"#?]*)[^"]*"')
REMOTE_SCRIPT = re.compile(r'<script\b[^>]*\bsrc="((?:https?:)?//[^"]*)"', re.IGNORECASE)
REST = re.compile(r":(?:class|func|meth|mod|attr|math):`|\.\. math::")


def problems(site: Path) -> list[str]:
    found = []
    if not (site / "search" / "search_index.js").is_file():
        found.append("search/search_index.js missing: search will not work from file:// (offline plugin)")
    for page in sorted(site.rglob("*.html")):
        if page.name == "404.html":
            continue  # served by a web server at any depth: its links are absolute on purpose
        text = page.read_text(errors="replace")
        for url in REMOTE_SCRIPT.findall(text):
            found.append(f"{page.relative_to(site)}: loads a script from the internet {url!r} "
                         "(it fails offline)")
        for match in REST.finditer(text):
            found.append(f"{page.relative_to(site)}: reST markup {match.group(0)!r}")
        for target in HREF.findall(text):
            parts = urlsplit(target)
            if parts.scheme or parts.netloc or not parts.path or target.startswith(("mailto:", "data:")):
                continue
            path = (page.parent / unquote(parts.path)).resolve()
            if parts.path.endswith("/") or path.is_dir():
                found.append(f"{page.relative_to(site)}: link to a folder {target!r} (breaks from file://)")
            elif not path.exists():
                found.append(f"{page.relative_to(site)}: broken link {target!r}")
    return found


def main() -> int:
    site = Path(sys.argv[1] if len(sys.argv) > 1 else "site")
    found = problems(site)
    for line in found[:200]:
        print(line)
    pages = len(list(site.rglob("*.html")))
    print(f"site check: {pages} pages, {len(found)} problem(s)")
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
