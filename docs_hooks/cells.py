"""Parse a jupytext "percent" script into cells, and render the cells as Markdown.

A ``# %%`` line starts a code cell, ``# %% [markdown]`` a Markdown cell whose lines
are comments (``# text``). Lines before the first marker form a code cell.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_MARKER = re.compile(r"^# %%(?P<rest>.*)$")
_MAX_OUTPUT_LINES = 40


@dataclass
class Cell:
    kind: str  # "code" or "markdown"
    source: str


def _uncomment(line: str) -> str:
    if line.startswith("# "):
        return line[2:]
    return line[1:] if line.startswith("#") else line


def parse_cells(text: str) -> list[Cell]:
    cells, kind, lines = [], "code", []

    def flush():
        source = "\n".join(lines).strip("\n")
        if source.strip():
            cells.append(Cell(kind, source + "\n"))

    for line in text.splitlines():
        match = _MARKER.match(line)
        if match:
            flush()
            kind = "markdown" if "[markdown]" in match["rest"] else "code"
            lines = []
        else:
            lines.append(_uncomment(line) if kind == "markdown" else line)
    flush()
    return cells


def title_of(text: str) -> str:
    """The first Markdown heading of a chapter (its title in the navigation)."""
    for cell in parse_cells(text):
        if cell.kind == "markdown":
            for line in cell.source.splitlines():
                if line.startswith("# "):
                    return line[2:].strip()
    raise ValueError("a tutorial chapter must start with a '# Title' Markdown cell")


def _output_block(output: str) -> str:
    lines = output.rstrip("\n").splitlines()
    if len(lines) > _MAX_OUTPUT_LINES:
        lines = lines[:_MAX_OUTPUT_LINES] + [f"... ({len(lines) - _MAX_OUTPUT_LINES} more lines)"]
    return '```text title="output"\n' + "\n".join(lines) + "\n```\n"


def to_markdown(cells: list[Cell], results: list[dict], header: str, figure_dir: str) -> str:
    """Markdown cells as prose, code cells as code blocks followed by their output and figures."""
    parts = []
    for index, cell in enumerate(cells):
        if cell.kind == "markdown":
            parts.append(cell.source)
            if index == 0:
                parts.append(header)
            continue
        parts.append("```python\n" + cell.source + "```\n")
        result = results[index] if index < len(results) else {"output": "", "figures": []}
        if result["output"].strip():
            parts.append(_output_block(result["output"]))
        for name in result["figures"]:
            parts.append(f"![{name}]({figure_dir}/{name}.png)\n")
    return "\n".join(parts)
