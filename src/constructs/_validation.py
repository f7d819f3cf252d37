"""Synth-time checks that name the construct path and the offending value."""

from __future__ import annotations

import difflib
import functools
import inspect
from collections.abc import Callable, Mapping
from typing import Any

from aws_cdk import Duration, Token

from constructs import IConstruct


def is_known(value: object) -> bool:
    """Tells whether a value is concrete, not a token that resolves at deploy time."""
    return value is not None and not Token.is_unresolved(value)


def check_range(scope: IConstruct, name: str, value: float | None, low: float, high: float) -> None:
    """Raises ValueError when a known value lies outside ``[low, high]``; tokens pass."""
    if is_known(value) and not low <= value <= high:  # type: ignore[operator]
        raise ValueError(f"{scope.node.path}: {name} must be between {low} and {high}, got {value}")


def check_whole_seconds(
    scope: IConstruct, name: str, duration: Duration, low: float, high: float
) -> None:
    """Raises ValueError when a known duration is not a whole number of seconds, or lies
    outside ``[low, high]`` seconds; tokens pass."""
    amount = duration.to_seconds(integral=False)
    if is_known(amount) and amount != int(amount):
        raise ValueError(
            f"{scope.node.path}: {name} must be a whole number of seconds, got {amount} s"
        )
    check_range(scope, f"{name} (seconds)", amount, low, high)


def seconds(duration: Duration | None) -> int:
    """Whole seconds of a duration; 0 for None."""
    return 0 if duration is None else int(duration.to_seconds())


def reject_both(scope: IConstruct, existing: str, existing_value: object, **props: object) -> None:
    """Raises when a bring-your-own resource and any setting of a new one are both given."""
    if existing_value is None:
        return
    for name, value in props.items():
        if value is not None:
            raise ValueError(
                f"{scope.node.path}: pass either '{existing}' (an existing resource) or "
                f"'{name}' (to configure a new one), not both"
            )


def check_prop_keys(
    path: str, name: str, props: Mapping[str, Any] | None, target: Callable[..., object]
) -> None:
    """Raises ValueError for a key of ``props`` that ``target`` (an aws_cdk class) does not take.

    ``path`` is the construct path the props are for and ``name`` the argument that carried
    them (``"function_props"``); the message suggests the closest keyword. Without this check
    jsii raises a bare TypeError naming neither.
    """
    if not props:
        return
    accepted = keyword_arguments(target)
    for key in props:
        if key not in accepted:
            close = difflib.get_close_matches(str(key), sorted(accepted), n=1)
            hint = f"; did you mean {close[0]!r}?" if close else ""
            raise ValueError(
                f"{path}: {name}[{key!r}] is not an argument of "
                f"{target.__module__.removeprefix('aws_cdk.')}.{target.__qualname__}{hint}"
            )


@functools.cache
def keyword_arguments(target: Callable[..., object]) -> frozenset[str]:
    """The keyword-only parameters of a class's constructor (its props, for a jsii class)."""
    parameters = inspect.signature(target.__init__).parameters
    return frozenset(
        name
        for name, parameter in parameters.items()
        if parameter.kind is inspect.Parameter.KEYWORD_ONLY
    )


def known_above(value: float | None, limit: float | None) -> bool:
    """Tells whether ``value`` is greater than ``limit``, both known (None and tokens: False).

    For settings Lambda checks only at deploy time, for example provisioned concurrency above
    reserved concurrency, or an SQS event source's maximum concurrency above the reserved one.
    """
    return is_known(value) and is_known(limit) and value > limit  # type: ignore[operator]
