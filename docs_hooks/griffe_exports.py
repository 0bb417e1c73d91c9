"""Griffe extension: let the API pages document ops as ``minigrad.<name>`` (``::: minigrad.relu``).

``minigrad/__init__.py`` does ``from minigrad.ops import *``, and ``minigrad.ops`` builds its
``__all__`` from the ``__all__`` of each family module. Griffe expands such ``__all__`` lists
only in modules below a package that has an ``__all__`` itself; ``minigrad`` has none, so it
sees no op under ``minigrad`` (``minigrad.relu`` "could not be found"). This extension expands
``minigrad.ops.__all__`` once the package is loaded and adds each name to ``minigrad`` as an
alias of its definition, which is what the wildcard import does at run time. mkdocstrings then
renders ``::: minigrad.relu`` with the heading ``minigrad.relu(x)`` and the anchor
``minigrad.relu``, and registers the definition's path (``minigrad.ops.elementwise.relu``) as a
secondary anchor, so links to either name land there.
"""

from __future__ import annotations

import griffe


class WildcardExports(griffe.Extension):
    """Add the names of ``minigrad.ops.__all__`` to ``minigrad``, as the wildcard import does."""

    def on_package(self, *, pkg: griffe.Module, loader: griffe.GriffeLoader, **kwargs) -> None:
        if pkg.name != "minigrad":
            return
        for name, target in _ops_exports(pkg["ops"], loader):
            if name not in pkg.members:
                pkg.set_member(name, griffe.Alias(name, target, parent=pkg))


def _ops_exports(ops: griffe.Module, loader: griffe.GriffeLoader):
    """(name, path of its definition) for each name of ``minigrad.ops.__all__``.

    Each name is looked up in the family module whose ``__all__`` lists it, not in
    ``minigrad.ops`` itself, where a few (``sort``, ``norm``) are also submodules.
    """
    for export in ops.exports or ():
        if isinstance(export, str):  # already expanded (a Griffe that expands it itself)
            member = ops.members.get(export)
            if member is not None and not member.is_module:
                yield export, member.target_path if member.is_alias else member.path
            continue
        family = loader.modules_collection.get_member(export.canonical_path.rsplit(".", 1)[0])
        for name in family.exports or ():
            member = family.members.get(name) if isinstance(name, str) else None
            if member is not None:
                yield name, member.target_path if member.is_alias else member.path
