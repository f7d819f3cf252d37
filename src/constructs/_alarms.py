"""Alarm building blocks: metrics come from the resources, actions from the user."""

from __future__ import annotations

from collections.abc import Iterable

from aws_cdk import aws_cloudwatch as cloudwatch

from constructs import Construct

AlarmSpec = tuple[str, cloudwatch.IMetric | None, float | None, str]
"""One wanted alarm: construct id, metric, threshold and description. A ``None`` metric or
threshold means the alarm is turned off."""


def threshold_alarm(
    scope: Construct,
    construct_id: str,
    *,
    metric: cloudwatch.IMetric,
    threshold: float,
    description: str,
    action: cloudwatch.IAlarmAction | None,
) -> cloudwatch.Alarm:
    """Defines an alarm that fires when one period of ``metric`` reaches ``threshold``.

    Missing data counts as healthy (an idle queue publishes no datapoints). ``action``, when
    given, runs on ALARM and on OK, so on-call sees recovery as well as failure.
    """
    alarm = cloudwatch.Alarm(
        scope,
        construct_id,
        metric=metric,
        threshold=threshold,
        evaluation_periods=1,
        datapoints_to_alarm=1,
        comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
        alarm_description=description,
    )
    if action is not None:
        alarm.add_alarm_action(action)
        alarm.add_ok_action(action)
    return alarm


def threshold_alarms(
    scope: Construct, wanted: Iterable[AlarmSpec], *, action: cloudwatch.IAlarmAction | None
) -> list[cloudwatch.Alarm]:
    """Defines a ``threshold_alarm`` for each wanted alarm that is not turned off, in order,
    inside a new ``Alarms`` child of ``scope``."""
    alarms = Construct(scope, "Alarms")
    return [
        threshold_alarm(
            alarms,
            name,
            metric=metric,
            threshold=threshold,
            description=description,
            action=action,
        )
        for name, metric, threshold, description in wanted
        if metric is not None and threshold is not None
    ]
