"""Run every tutorial chapter (``tutorials/NN_topic.py``) as a script: a chapter's closing
assertions are its test.

Each chapter runs in fast mode (``MINIGRAD_FAST=1``, seconds) and, marked ``slow``, in
full mode (the stated results). Both carry the chapter's marker, so
``pytest -m optim`` runs chapter 3 and ``pytest -m "optim and not slow"`` its fast run.
A new chapter file is picked up automatically; its number needs a
marker declared in pyproject.toml as ``"name: chapter N (title)"``.
"""

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

TUTORIALS = Path(__file__).resolve().parent.parent / "tutorials"
CHAPTERS = sorted(TUTORIALS.glob("[0-9][0-9]_*.py"))

# Declared in pyproject.toml as "name: chapter N (title)": the one place that maps chapters to markers.
_DECLARED = re.findall(r'"(\w+): chapter (\d+)\b', (TUTORIALS.parent / "pyproject.toml").read_text())
CHAPTER_MARKERS = {f"{int(n):02d}": name for name, n in _DECLARED}


def _params(fast: bool):
    for path in CHAPTERS:
        marker = CHAPTER_MARKERS.get(path.name[:2])  # unknown numbers fail the test below
        marks = [getattr(pytest.mark, marker)] if marker else []
        if not fast:
            marks.append(pytest.mark.slow)
        yield pytest.param(path, marks=marks, id=path.stem)


# Chapters that need an optional package skip, with the install command, when it is missing.
REQUIRES = {"05": ("sklearn", "tutorials"), "09": ("triton", "kernels"), "13": ("mpi4py", "distributed"),
            "11": ("uvicorn", "serve")}


def _skip_if_missing_requirement(path: Path):
    module, extra = REQUIRES.get(path.name[:2], (None, None))
    if module:
        pytest.importorskip(module, reason=f"{path.name} needs {module}: pip install 'minigrad-edu[{extra}]'")


def run_chapter(path: Path, figures: Path, fast: bool, timeout: float):
    _skip_if_missing_requirement(path)
    env = dict(os.environ, MPLBACKEND="Agg", MINIGRAD_FIGURES=str(figures),
               MINIGRAD_FAST="1" if fast else "0", TRITON_INTERPRET="1")
    return subprocess.run([sys.executable, path.name], cwd=TUTORIALS, env=env, timeout=timeout,
                          capture_output=True, text=True)


def _check(result, path: Path, figures: Path):
    assert result.returncode == 0, (
        f"{path.name} failed (exit {result.returncode}):\n{result.stdout[-3000:]}\n{result.stderr[-5000:]}"
    )
    prefix = path.name[:2] + "_"
    figures_made = sorted(p.name for p in figures.glob("*.png"))
    assert figures_made, f"{path.name} saved no figure"
    assert all(name.startswith(prefix) for name in figures_made), (
        f"{path.name}: figure names must start with {prefix!r}, got {figures_made}"
    )


def test_every_chapter_has_a_marker():
    assert CHAPTERS, f"no chapter found in {TUTORIALS}"
    unknown = [p.name for p in CHAPTERS if p.name[:2] not in CHAPTER_MARKERS]
    assert not unknown, f"declare a marker 'name: chapter N (title)' in pyproject.toml for {unknown}"
    assert len(CHAPTER_MARKERS) >= 12, CHAPTER_MARKERS


@pytest.mark.parametrize("path", list(_params(fast=True)))
def test_chapter_fast(path, tmp_path):
    _check(run_chapter(path, tmp_path, fast=True, timeout=120), path, tmp_path)


@pytest.mark.parametrize("path", list(_params(fast=False)))
def test_chapter_full(path, tmp_path):
    _check(run_chapter(path, tmp_path, fast=False, timeout=1800), path, tmp_path)


@pytest.mark.linreg
def test_a_chapter_runs_as_a_notebook(tmp_path, monkeypatch):
    """The notebook route of the README: jupytext converts a chapter, a Jupyter kernel runs
    every cell (in fast mode), and no cell fails."""
    jupytext = pytest.importorskip("jupytext", reason="pip install 'minigrad-edu[notebooks]'")
    nbclient = pytest.importorskip("nbclient", reason="pip install 'minigrad-edu[notebooks]'")
    pytest.importorskip("ipykernel", reason="pip install 'minigrad-edu[notebooks]'")
    chapter = TUTORIALS / "02_linear_regression.py"
    notebook = jupytext.read(chapter)
    for name, value in dict(MPLBACKEND="Agg", MINIGRAD_FIGURES=str(tmp_path), MINIGRAD_FAST="1").items():
        monkeypatch.setenv(name, value)  # the kernel process inherits them
    client = nbclient.NotebookClient(notebook, timeout=120, kernel_name="python3",
                                     resources={"metadata": {"path": str(TUTORIALS)}})
    client.execute()
    code_cells = [c for c in notebook.cells if c.cell_type == "code"]
    assert code_cells and all(c.get("execution_count") for c in code_cells)
    errors = [o for c in code_cells for o in c.get("outputs", []) if o.get("output_type") == "error"]
    assert not errors, errors
    assert list(tmp_path.glob("02_*.png")), "the notebook saved no figure"
