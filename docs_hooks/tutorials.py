"""MkDocs hook: render ``tutorials/NN_topic.py`` as the pages ``tutorials/NN_topic.md``.

Each chapter is run in fast mode (``MINIGRAD_FAST=1``) cell by cell, its figures are
written to ``docs/tutorials/figures/`` (generated, git-ignored) and its printed output is
cached in ``.cache/tutorials/``; the run is skipped while the chapter, ``_common.py`` and
the runner are unchanged (delete ``.cache/tutorials`` to force it). Markdown cells become
prose, code cells code blocks followed by their output and figures. The chapters are
appended to the "Tutorials" section of the navigation in number order, so adding a
chapter is adding a file.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from mkdocs.exceptions import PluginError
from mkdocs.structure.files import File

from minigrad.io import write_bytes_atomic

sys.path.insert(0, str(Path(__file__).resolve().parent))
from cells import parse_cells, title_of, to_markdown  # noqa: E402

log = logging.getLogger("mkdocs.hooks.tutorials")

HOOKS = Path(__file__).resolve().parent
ROOT = HOOKS.parent
TUTORIALS = ROOT / "tutorials"
CACHE = ROOT / ".cache" / "tutorials"
FIGURES_URI = "tutorials/figures"
CHAPTER_TIMEOUT_S = 300


def chapters() -> list[Path]:
    return sorted(TUTORIALS.glob("[0-9][0-9]_*.py"))


def _fingerprint(chapter: Path) -> str:
    digest = hashlib.sha256()
    for path in (chapter, TUTORIALS / "_common.py", HOOKS / "run_cells.py"):
        digest.update(path.read_bytes())
    return digest.hexdigest()


def _run(chapter: Path, figures: Path) -> list[dict]:
    """The chapter's per-cell outputs: from the cache, or by running it in fast mode."""
    cached = CACHE / f"{chapter.stem}.json"
    fingerprint = _fingerprint(chapter)
    if cached.exists():
        entry = json.loads(cached.read_text())
        figures_there = all((figures / f"{n}.png").exists() for c in entry["cells"] for n in c["figures"])
        if entry["fingerprint"] == fingerprint and figures_there:
            return entry["cells"]
    log.info("running %s in fast mode for the docs", chapter.name)
    for stale in figures.glob(f"{chapter.name[:3]}*.png"):
        stale.unlink()
    out = CACHE / f"{chapter.stem}.cells.json"
    env = dict(os.environ, MINIGRAD_FAST="1", MPLBACKEND="Agg", MINIGRAD_FIGURES=str(figures),
               TRITON_INTERPRET="1")
    result = subprocess.run([sys.executable, str(HOOKS / "run_cells.py"), str(chapter), str(out)],
                            env=env, capture_output=True, text=True, timeout=CHAPTER_TIMEOUT_S)
    if result.returncode != 0:
        raise PluginError(f"tutorial {chapter.name} failed in fast mode:\n{result.stderr[-4000:]}")
    cells = json.loads(out.read_text())
    out.unlink()
    write_bytes_atomic(cached, json.dumps({"fingerprint": fingerprint, "cells": cells}).encode())
    return cells


def _page(chapter: Path, results: list[dict]) -> str:
    header = (
        f'!!! note "Run it yourself"\n'
        f"    This page is generated from [`tutorials/{chapter.name}`]"
        f"(https://github.com/minigrad/minigrad/blob/main/tutorials/{chapter.name}) "
        f"run in fast mode. From the repository, after the README's install: "
        f"`.venv/bin/python tutorials/{chapter.name}` (prefix `MINIGRAD_FAST=1` for the quick "
        f"version); as a notebook, after `.venv/bin/pip install -e \".[notebooks]\"`: "
        f"`.venv/bin/jupytext --to notebook --execute tutorials/{chapter.name}`, then "
        f"`.venv/bin/jupyter lab tutorials/{chapter.stem}.ipynb`.\n"
    )
    return to_markdown(parse_cells(chapter.read_text()), results, header, "figures")


def on_config(config):
    """Append every chapter to the navigation's "Tutorials" section."""
    for section in config.nav or []:
        if isinstance(section, dict) and "Tutorials" in section:
            entries = section["Tutorials"]
            for chapter in chapters():
                uri = f"tutorials/{chapter.stem}.md"
                if not any(uri in (e.values() if isinstance(e, dict) else [e]) for e in entries):
                    entries.append({title_of(chapter.read_text()): uri})
    return config


_results: dict[str, list[dict]] = {}


def on_pre_build(config):
    """Run the chapters (before MkDocs lists the docs folder, so it finds their figures)."""
    figures = Path(config.docs_dir) / FIGURES_URI
    CACHE.mkdir(parents=True, exist_ok=True)
    figures.mkdir(parents=True, exist_ok=True)
    found = chapters()
    with ThreadPoolExecutor(max_workers=2) as pool:  # each chapter is its own process
        _results.update(zip([c.stem for c in found], pool.map(lambda c: _run(c, figures), found)))


def on_files(files, config):
    for chapter in chapters():
        page = _page(chapter, _results[chapter.stem])
        files.append(File.generated(config, f"tutorials/{chapter.stem}.md", content=page))
    return files


def on_page_markdown(markdown, page, config, files):
    """Fill the chapter list of the tutorials index (``<!-- chapters -->``)."""
    if page.file.src_uri != "tutorials/index.md":
        return markdown
    rows = ["| chapter | test marker |", "| --- | --- |"]
    for chapter in chapters():
        rows.append(f"| [{title_of(chapter.read_text())}]({chapter.stem}.md) | `{_marker(chapter)}` |")
    return markdown.replace("<!-- chapters -->", "\n".join(rows))


def _marker(chapter: Path) -> str:
    """The chapter's pytest marker, from its declaration ``name: chapter N (...)`` in pyproject.toml."""
    declared = re.findall(r'"(\w+): chapter (\d+)\b', (ROOT / "pyproject.toml").read_text())
    return {f"{int(n):02d}": name for name, n in declared}.get(chapter.name[:2], "")
