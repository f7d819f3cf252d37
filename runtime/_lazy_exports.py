"""Package namespaces that import each public name from its module on first use.

A package ``__init__`` that imports all of its modules eagerly makes every user pay for all of
them: importing one construct loaded every aws_cdk submodule the library uses, and importing
the idempotency schema loaded boto3. A lazy package writes its imports under
``if TYPE_CHECKING:`` (so mypy and IDEs see every name, and ``__all__`` stays the public list)
and ends with::

    __getattr__, __dir__ = lazy_exports(globals())

``lazy_exports`` reads those imports from the package's source, the one list of where each name
lives, and imports a name's module when the name is first read.
"""

from __future__ import annotations

import ast
import importlib
from collections.abc import Callable, MutableMapping
from pathlib import Path
from typing import Any

__all__ = ["exports_of", "lazy_exports"]


def exports_of(source: str) -> dict[str, str]:
    """Each name imported under a module-level ``if TYPE_CHECKING:`` and its module."""
    exports: dict[str, str] = {}
    for node in ast.parse(source).body:
        if isinstance(node, ast.If) and ast.unparse(node.test) == "TYPE_CHECKING":
            for statement in node.body:
                if isinstance(statement, ast.ImportFrom) and statement.module:
                    for alias in statement.names:
                        exports[alias.asname or alias.name] = statement.module
    return exports


def lazy_exports(
    namespace: MutableMapping[str, Any],
) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """The ``__getattr__`` and ``__dir__`` of the package whose ``globals()`` is ``namespace``.

    A name read once is cached in ``namespace``: later reads are plain attribute lookups.
    Reading a name that ``__all__`` lists but no ``TYPE_CHECKING`` import provides raises
    ``AttributeError``, as for any unknown name.
    """
    package = namespace["__name__"]
    exports = exports_of(Path(namespace["__file__"]).read_text(encoding="utf-8"))

    def __getattr__(name: str) -> Any:
        module = exports.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(module), name)
        namespace[name] = value
        return value

    def __dir__() -> list[str]:
        return sorted({*namespace, *exports})

    return __getattr__, __dir__
