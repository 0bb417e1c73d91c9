"""One docstring style across the package: Google style with Markdown and ``$...$`` math.

The API pages render docstrings as Markdown, where reST roles (``:class:`X```,
``:math:`x```) and ``.. math::`` blocks show up as raw markup; this test finds them
in the source, before a reader does in the site.
"""

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SOURCES = sorted([*(ROOT / "minigrad").rglob("*.py"), *(ROOT / "kernels").rglob("*.py")])
REST = re.compile(r":(?:class|func|meth|mod|attr|math|data|obj|exc|py:\w+):`|^\s*\.\. math::", re.M)


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: str(p.relative_to(ROOT)))
def test_no_rest_markup(path):
    found = [f"{path.relative_to(ROOT)}:{path.read_text()[:m.start()].count(chr(10)) + 1}: {m.group(0).strip()}"
             for m in REST.finditer(path.read_text())]
    assert not found, "reST markup in docstrings (write Markdown: `name`, $math$, $$block$$):\n" + "\n".join(found)
