"""How CanaryApi shifts traffic: canary, linear or all-at-once, preset or custom."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from aws_cdk import Duration
from aws_cdk import aws_codedeploy as codedeploy

from constructs import Construct
from serverless_patterns.constructs._validation import check_range, is_known

#: CodeDeploy's limits for a time-based traffic shift: a whole percentage below 100 and a
#: whole number of minutes up to two days.
_MAX_INTERVAL_MINUTES = 2880

#: CodeDeploy's predefined Lambda configurations, by (kind, percentage, minutes): the name of
#: the ``LambdaDeploymentConfig`` attribute (read on use: each read is a jsii call).
_PREDEFINED: dict[tuple[str, int, int], str] = {
    ("canary", 10, 5): "CANARY_10_PERCENT_5_MINUTES",
    ("canary", 10, 10): "CANARY_10_PERCENT_10_MINUTES",
    ("canary", 10, 15): "CANARY_10_PERCENT_15_MINUTES",
    ("canary", 10, 30): "CANARY_10_PERCENT_30_MINUTES",
    ("linear", 10, 1): "LINEAR_10_PERCENT_EVERY_1_MINUTE",
    ("linear", 10, 2): "LINEAR_10_PERCENT_EVERY_2_MINUTES",
    ("linear", 10, 3): "LINEAR_10_PERCENT_EVERY_3_MINUTES",
    ("linear", 10, 10): "LINEAR_10_PERCENT_EVERY_10_MINUTES",
}


@dataclass(frozen=True)
class TrafficShift:
    """How a deployment moves traffic from the old version to the new one.

    Use the presets: ``TrafficShift.canary()`` (10 % for 5 minutes, then the rest),
    ``TrafficShift.linear()`` (10 % more every minute) or ``TrafficShift.all_at_once()``; each
    takes a custom ``percentage`` and ``interval``. A shift that matches one of CodeDeploy's
    predefined configurations uses it; any other defines a ``LambdaDeploymentConfig``.
    """

    kind: Literal["canary", "linear", "all_at_once"]
    percentage: int = 10
    interval: Duration = field(default_factory=lambda: Duration.minutes(5))

    @classmethod
    def canary(cls, percentage: int = 10, interval: Duration | None = None) -> TrafficShift:
        """``percentage`` of traffic for ``interval``, then all of it.

        Default: - 10 % for 5 minutes (``CodeDeployDefault.LambdaCanary10Percent5Minutes``).
        """
        return cls("canary", percentage, interval or Duration.minutes(5))

    @classmethod
    def linear(cls, percentage: int = 10, interval: Duration | None = None) -> TrafficShift:
        """``percentage`` more traffic every ``interval``.

        Default: - 10 % every minute (``CodeDeployDefault.LambdaLinear10PercentEvery1Minute``).
        """
        return cls("linear", percentage, interval or Duration.minutes(1))

    @classmethod
    def all_at_once(cls) -> TrafficShift:
        """All traffic at once (``CodeDeployDefault.LambdaAllAtOnce``); alarms still roll back."""
        return cls("all_at_once", 100, Duration.minutes(0))

    def describe(self) -> str:
        """A short description, for example ``canary 10 % for 5 min``."""
        if self.kind == "all_at_once":
            return "all at once"
        minutes = self.interval.to_minutes() if is_known(self.interval.to_seconds()) else "?"
        word = "for" if self.kind == "canary" else "every"
        return f"{self.kind} {self.percentage} % {word} {minutes} min"


def check_traffic_shift(scope: Construct, shift: TrafficShift) -> None:
    """Raises a ValueError naming the bad percentage or interval."""
    if shift.kind == "all_at_once":
        return
    check_range(scope, f"{shift.kind} percentage", shift.percentage, 1, 99)
    if is_known(shift.percentage) and int(shift.percentage) != shift.percentage:
        raise ValueError(
            f"{scope.node.path}: {shift.kind} percentage must be a whole number, "
            f"got {shift.percentage}"
        )
    seconds = shift.interval.to_seconds()
    if is_known(seconds) and (seconds % 60 or not 1 <= seconds // 60 <= _MAX_INTERVAL_MINUTES):
        raise ValueError(
            f"{scope.node.path}: {shift.kind} interval must be whole minutes between 1 and "
            f"{_MAX_INTERVAL_MINUTES}, got {seconds} s"
        )


def deployment_config(
    scope: Construct, construct_id: str, shift: TrafficShift
) -> codedeploy.ILambdaDeploymentConfig:
    """The predefined CodeDeploy configuration for ``shift``, or a new custom one."""
    check_traffic_shift(scope, shift)
    if shift.kind == "all_at_once":
        return codedeploy.LambdaDeploymentConfig.ALL_AT_ONCE
    minutes = int(shift.interval.to_minutes())
    predefined = _PREDEFINED.get((shift.kind, int(shift.percentage), minutes))
    if predefined is not None:
        config: codedeploy.ILambdaDeploymentConfig = getattr(
            codedeploy.LambdaDeploymentConfig, predefined
        )
        return config
    routing: codedeploy.TrafficRouting = (
        codedeploy.TimeBasedCanaryTrafficRouting(
            interval=shift.interval, percentage=int(shift.percentage)
        )
        if shift.kind == "canary"
        else codedeploy.TimeBasedLinearTrafficRouting(
            interval=shift.interval, percentage=int(shift.percentage)
        )
    )
    return codedeploy.LambdaDeploymentConfig(scope, construct_id, traffic_routing=routing)
