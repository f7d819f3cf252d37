"""Alarm building blocks: metrics come from the resources, actions from the user."""

from __future__ import annotations

from aws_cdk import aws_cloudwatch as cloudwatch

from constructs import Construct


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
