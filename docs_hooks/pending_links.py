"""MkDocs hook: cross-references to code that has not landed yet.

The math reference links each formula to its implementation with autorefs links such as
``[nn.LSTM][minigrad.nn.LSTM]``. A link to a name that does not exist breaks the strict
build, which is how typos are caught. Names that are *planned* but not written yet are
listed in ``PENDING`` in ``tests/test_docs.py`` (the one list, which later work must
empty): their links are rendered as plain code marked "(coming soon)". The test fails
when a pending name exists, so the list cannot go stale.
"""

from __future__ import annotations

import ast
import importlib
import logging
import re
from pathlib import Path

log = logging.getLogger("mkdocs.hooks.pending_links")

TEST_DOCS = Path(__file__).resolve().parent.parent / "tests" / "test_docs.py"
# [text][minigrad.x.y] or [minigrad.x.y][]
AUTOREF = re.compile(r"\[(?P<text>[^\]]+)\]\[(?P<target>(?:minigrad|kernels)\.[\w.]*)?\]")


def pending_names() -> set[str]:
    """The ``PENDING`` tuple of tests/test_docs.py, read without importing the test."""
    for node in ast.parse(TEST_DOCS.read_text()).body:
        if isinstance(node, ast.Assign) and any(getattr(t, "id", "") == "PENDING" for t in node.targets):
            return set(ast.literal_eval(node.value))
    raise RuntimeError(f"no PENDING list in {TEST_DOCS}")


def resolve(dotted: str):
    """Import ``a.b.c.Name`` (module prefix, then attributes); None when it does not exist."""
    if dotted.startswith("kernels."):  # the API pages document kernels/ as "kernels"
        dotted = "minigrad." + dotted
    parts = dotted.split(".")
    for cut in range(len(parts), 0, -1):
        try:
            obj = importlib.import_module(".".join(parts[:cut]))
        except ImportError:
            continue
        try:
            for name in parts[cut:]:
                obj = getattr(obj, name)
        except AttributeError:
            return None
        return obj
    return None


def link_targets(markdown: str):
    """Every (text, target) autorefs link to minigrad code in ``markdown``."""
    for match in AUTOREF.finditer(markdown):
        target = match["target"] or match["text"].strip("`")
        if target.startswith(("minigrad.", "kernels.")):
            yield match, target


def on_page_markdown(markdown, page, config, files):
    pending = pending_names()
    out, last = [], 0
    for match, target in link_targets(markdown):
        if target in pending and resolve(target) is None:
            text = match["text"] if match["target"] else f"`{target}`"
            out.append(markdown[last:match.start()] + f"{text} *(coming soon)*")
            last = match.end()
    return "".join(out) + markdown[last:]
