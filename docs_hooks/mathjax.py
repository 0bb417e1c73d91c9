"""Serve MathJax from the site itself, so the formulas render without a network.

MathJax 3.2.2 comes from the PyPI package ``django-static-mathjax`` (a plain copy
of MathJax's distribution, Apache-2.0; nothing of Django is used). After the
build, its single-file bundle and the web fonts it loads are copied into
``site/javascripts/mathjax/``, where ``mkdocs.yml`` points the pages.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from mkdocs.exceptions import PluginError


def _mathjax_es5() -> Path:
    try:
        import mathjax
    except ImportError:
        raise PluginError("the docs need MathJax: pip install -e '.[docs]' "
                          "(it brings django-static-mathjax)") from None
    return Path(mathjax.__file__).parent / "static" / "mathjax" / "es5"


def on_post_build(config, **kwargs):
    source = _mathjax_es5()
    target = Path(config["site_dir"]) / "javascripts" / "mathjax"
    target.mkdir(parents=True, exist_ok=True)
    shutil.copy2(source / "tex-mml-chtml.js", target / "tex-mml-chtml.js")
    fonts = Path("output") / "chtml" / "fonts" / "woff-v2"  # where the bundle looks for them
    shutil.copytree(source / fonts, target / fonts, dirs_exist_ok=True)
