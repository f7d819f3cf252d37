"""Synth-time checks that name the construct path and the offending value."""

from __future__ import annotations

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
