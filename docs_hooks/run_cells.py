"""Run a tutorial chapter cell by cell and record what each cell printed and drew.

    python docs_hooks/run_cells.py tutorials/01_tensors_and_autograd.py out.json

The chapter runs in its own folder, as ``python NN_topic.py`` would, in one namespace;
figures go to ``$MINIGRAD_FIGURES`` as usual. ``out.json`` gets one entry per cell
(``{"output": str, "figures": [names]}``) for the docs hook to show under the cell's code.
A failing cell fails the run (exit 1), and so the docs build.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import sys
import traceback
from pathlib import Path

from minigrad.io import write_bytes_atomic

sys.path.insert(0, str(Path(__file__).resolve().parent))
from cells import parse_cells  # noqa: E402


def _figure_stamps(folder: Path, prefix: str) -> dict:
    """This chapter's figures (``NN_*.png``; other chapters may be running in the same folder)."""
    return {p.name: p.stat().st_mtime_ns for p in folder.glob(f"{prefix}*.png")}


def run(chapter: Path) -> list[dict]:
    figures = Path(os.environ.get("MINIGRAD_FIGURES", "runs/tutorials")).resolve()
    os.chdir(chapter.parent)
    sys.path.insert(0, str(chapter.parent))
    namespace = {"__name__": "__main__"}
    results = []
    for index, cell in enumerate(parse_cells(chapter.read_text())):
        if cell.kind != "code":
            results.append({"output": "", "figures": []})
            continue
        before = _figure_stamps(figures, chapter.name[:3])
        buffer = io.StringIO()
        with contextlib.redirect_stdout(buffer):
            exec(compile(cell.source, f"{chapter.name} (cell {index})", "exec"), namespace)  # noqa: S102
        after = _figure_stamps(figures, chapter.name[:3])
        drawn = sorted(name for name, stamp in after.items() if before.get(name) != stamp)
        results.append({"output": buffer.getvalue(), "figures": [Path(n).stem for n in drawn]})
    return results


def main() -> int:
    chapter, out = Path(sys.argv[1]).resolve(), Path(sys.argv[2]).resolve()
    try:
        results = run(chapter)
    except Exception:  # noqa: BLE001 - report any failure of the chapter and exit non-zero
        traceback.print_exc()
        return 1
    write_bytes_atomic(out, json.dumps(results, indent=1).encode())
    return 0


if __name__ == "__main__":
    sys.exit(main())
