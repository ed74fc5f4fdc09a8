"""Lazy package exports: a stage package names its API without importing its modules up front.

A command that needs one light module of a package (e.g. `cohortql.render.identifiers`) then does
not pay for the package's heavy ones (Jinja, the resolver, numpy, HiGHS). Uses PEP 562's module
`__getattr__`: the first access to an exported name imports the module that defines it.
"""

from __future__ import annotations

from collections.abc import Callable
from importlib import import_module


def lazy_exports(package: str, modules: dict[str, tuple[str, ...]]) -> tuple[list[str], Callable[[str], object]]:
    """(`__all__`, module `__getattr__`) for `package`: each name of `modules` served from its module
    (relative, e.g. ".result")."""
    exports = {name: module for module, names in modules.items() for name in names}

    def __getattr__(name: str) -> object:
        if name not in exports:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        return getattr(import_module(exports[name], package), name)

    return sorted(exports), __getattr__
