"""Evaluates the CloudFormation intrinsic functions the unit tests meet in alarm dimensions.

``evaluate(value, refs)`` resolves ``Ref`` from ``refs`` (logical id or pseudo parameter to the
value CloudFormation would return) and ``Fn::Join``, ``Fn::Split`` and ``Fn::Select`` as the
CloudFormation User Guide's "Intrinsic function reference" describes them.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


def evaluate(value: Any, refs: Mapping[str, str]) -> Any:
    """The value of a template expression, given what each ``Ref`` returns."""
    if isinstance(value, list):
        return [evaluate(item, refs) for item in value]
    if not isinstance(value, dict):
        return value
    [(function, args)] = value.items()
    if function == "Ref":
        return refs[args]
    if function == "Fn::Join":
        delimiter, items = args
        return str(delimiter).join(evaluate(items, refs))
    if function == "Fn::Split":
        delimiter, source = args
        return str(evaluate(source, refs)).split(delimiter)
    if function == "Fn::Select":
        index, items = args
        return evaluate(items, refs)[int(index)]
    raise AssertionError(f"unsupported intrinsic {function}")
