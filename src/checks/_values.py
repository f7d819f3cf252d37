"""Reading CloudFormation property values in every form a template may give them.

- A property of type Json (``RedrivePolicy``, ``EventPattern``, ``FilterPolicy``,
  ``PolicyDocument``) may be an object or a JSON string: ``json_value`` reads both.
- A string may be written literally or built with ``Ref``, ``Fn::GetAtt``, ``Fn::Sub`` (with or
  without a variable map) or ``Fn::Join``: ``string_parts`` reads all of them as the same
  sequence of literal text and references, so two spellings of one name compare equal.

Source: AWS CloudFormation User Guide, "Fn::Sub", "Fn::Join" and "Ref" (intrinsic function
reference): ``${Name}`` is a parameter, resource (its Ref value) or pseudo parameter,
``${Name.Attribute}`` its Fn::GetAtt, ``${!Literal}`` the text ``${Literal}``, and a variable
map entry overrides the name it defines.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

#: A reference inside a string: ``("Ref", "Name")`` or ``("Fn::GetAtt", "Name.Attribute")``.
Reference = tuple[str, str]
#: A string value as literal text and references, adjacent literals merged.
Parts = tuple[str | Reference, ...]

_SUB_VARIABLE = re.compile(r"\$\{([^}]*)\}")


def json_value(value: Any) -> Any:
    """A Json-typed property as CloudFormation reads it: a JSON string parsed, else as given.

    A string that is not JSON is returned unchanged (callers treat it as unknown).
    """
    if not isinstance(value, str):
        return value
    try:
        return json.loads(value)
    except (ValueError, RecursionError):
        return value


def _merge(parts: list[str | Reference]) -> Parts:
    merged: list[str | Reference] = []
    for part in parts:
        if isinstance(part, str) and merged and isinstance(merged[-1], str):
            merged[-1] += part
        elif part != "":
            merged.append(part)
    return tuple(merged)


def _sub_parts(template: Any, variables: Any) -> Parts | None:
    if not isinstance(template, str) or not isinstance(variables, Mapping):
        return None
    parts: list[str | Reference] = []
    position = 0
    for match in _SUB_VARIABLE.finditer(template):
        parts.append(template[position : match.start()])
        position = match.end()
        name = match.group(1)
        if name.startswith("!"):
            parts.append("${" + name[1:] + "}")
        elif name in variables:
            inner = string_parts(variables[name])
            if inner is None:
                return None
            parts.extend(inner)
        elif "." in name:
            parts.append(("Fn::GetAtt", name))
        elif name:
            parts.append(("Ref", name))
        else:
            return None
    parts.append(template[position:])
    return _merge(parts)


def _join_parts(arguments: Any) -> Parts | None:
    if not (isinstance(arguments, list) and len(arguments) == 2):
        return None
    delimiter, items = arguments
    if not isinstance(delimiter, str) or not isinstance(items, list):
        return None
    parts: list[str | Reference] = []
    for position, item in enumerate(items):
        inner = string_parts(item)
        if inner is None:
            return None
        if position:
            parts.append(delimiter)
        parts.extend(inner)
    return _merge(parts)


def _ref_parts(argument: Any) -> Parts | None:
    return (("Ref", argument),) if isinstance(argument, str) and argument else None


def _get_att_parts(argument: Any) -> Parts | None:
    if isinstance(argument, str) and "." in argument:
        return (("Fn::GetAtt", argument),)
    if (
        isinstance(argument, list)
        and len(argument) == 2
        and all(isinstance(a, str) and a for a in argument)
    ):
        return (("Fn::GetAtt", f"{argument[0]}.{argument[1]}"),)
    return None


def _sub_function_parts(argument: Any) -> Parts | None:
    if isinstance(argument, list):
        return _sub_parts(*argument) if len(argument) == 2 else None
    return _sub_parts(argument, {})


_FUNCTIONS = {
    "Ref": _ref_parts,
    "Fn::GetAtt": _get_att_parts,
    "Fn::Sub": _sub_function_parts,
    "Fn::Join": _join_parts,
}


def string_parts(value: Any) -> Parts | None:
    """A string value as literal text and references; None when it cannot be read at synth.

    Literal strings and numbers, ``Ref``, ``Fn::GetAtt`` (list or dotted form), ``Fn::Sub``
    (string or ``[template, variables]``) and ``Fn::Join`` are read; any other function
    (``Fn::If``, ``Fn::ImportValue``, ``Fn::Select``, ...) or value gives None.
    """
    if isinstance(value, str | int | float) and not isinstance(value, bool):
        return _merge([str(value)])
    if not isinstance(value, Mapping) or len(value) != 1:
        return None
    key, argument = next(iter(value.items()))
    reader = _FUNCTIONS.get(key)
    return reader(argument) if reader is not None else None


def is_literal(parts: Parts) -> bool:
    """Whether the parts are literal text only."""
    return all(isinstance(p, str) for p in parts)


#: Lambda's default log group of a function is ``/aws/lambda/<function name>``.
LAMBDA_LOG_PREFIX = "/aws/lambda/"


def default_log_group_names(logical_id: str, function_name: Any) -> list[Parts]:
    """The spellings of a function's default log group name readable at synth.

    ``/aws/lambda/`` followed by the function's ``Ref`` (its name), and by its
    ``FunctionName`` when it sets one that ``string_parts`` reads.
    """
    names = [_merge([LAMBDA_LOG_PREFIX, ("Ref", logical_id)])]
    declared = string_parts(function_name) if function_name is not None else None
    if declared is not None:
        names.append(_merge([LAMBDA_LOG_PREFIX, *declared]))
    return names
