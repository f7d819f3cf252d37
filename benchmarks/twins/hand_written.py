"""The anchor: the library twin's resources, written by hand with aws-cdk-lib L2 constructs.

It never imports this library, and defines what ``library.py`` synthesizes: an encrypted alarm
topic CloudWatch may publish to; two workers (an encrypted, TLS-only queue with a 14-day DLQ
after 5 receives and a 180 s visibility timeout, a Python arm64 function with JSON logs to a
log group kept a month and active tracing, an event source mapping reporting batch item
failures, four alarms); an event bus with a 30-day archive and one rule delivering to the second
worker's queue with a dead-letter queue, the retry policy written out and three rule alarms plus
one on the dead-letter queue. Run: ``python -m benchmarks.twins.hand_written <asset folder>``.
"""

from __future__ import annotations

import sys
from pathlib import Path

from aws_cdk import App, ArnFormat, Duration, Fn, RemovalPolicy, Stack
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as cw_actions
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sqs as sqs

from constructs import Construct

STACK_ID = "HandWrittenOrders"
HANDLER = "serverless_patterns.runtime.handlers.queue_worker.handler"
PERIOD = Duration.minutes(5)
CLOUDWATCH = "cloudwatch.amazonaws.com"


class HandWrittenStack(Stack):
    """Two queue workers, an event bus fanning out to one of them, and an alarm topic."""

    def __init__(self, scope: Construct, construct_id: str, *, asset_dir: Path) -> None:
        super().__init__(scope, construct_id)
        self.alarm_action = self._alarm_topic()
        code = lambda_.Code.from_asset(str(asset_dir))
        self._worker("Orders", code)
        fulfilment = self._worker("Fulfilment", code)

        bus = events.EventBus(self, "Bus")
        events.Archive(
            self,
            "Archive",
            source_event_bus=bus,
            event_pattern=events.EventPattern(source=events.Match.prefix("")),
            retention=Duration.days(30),
            description="Every event on the bus, for replay.",
        )
        rule_dlq = self._queue("RuleDeadLetterQueue", retention_period=Duration.days(14))
        rule = events.Rule(
            self,
            "OrderPlacedRule",
            event_bus=bus,
            event_pattern=events.EventPattern(source=["orders"], detail_type=["OrderPlaced"]),
        )
        rule.add_target(
            targets.SqsQueue(
                fulfilment,
                dead_letter_queue=rule_dlq,
                retry_attempts=185,
                max_event_age=Duration.hours(24),
            )
        )
        # Ref of a rule on a custom bus is "<bus>|<rule>"; its metrics name the rule alone.
        rule_name = Fn.select(1, Fn.split("|", Fn.join("|", [rule.rule_name, rule.rule_name])))
        dimensions = {"RuleName": rule_name, "EventBusName": bus.event_bus_name}
        for metric_name, description in (
            (
                "FailedInvocations",
                "The rule failed to deliver events to a target after its retries; they are in "
                "that target's dead-letter queue.",
            ),
            (
                "InvocationsFailedToBeSentToDlq",
                "Events the rule could not deliver could not be dead-lettered either (check "
                "the dead-letter queue's policy and key): they are lost.",
            ),
            (
                "ThrottledRules",
                "The rule's invocations were throttled by the account's EventBridge invocation "
                "quota; deliveries are delayed.",
            ),
        ):
            metric = cloudwatch.Metric(
                namespace="AWS/Events",
                metric_name=metric_name,
                dimensions_map=dimensions,
                statistic="Sum",
                period=PERIOD,
            )
            self._alarm(f"Rule{metric_name}", metric, 1, description)
        self._alarm(
            "RuleDeadLetterMessages",
            rule_dlq.metric_approximate_number_of_messages_visible(
                period=PERIOD, statistic="Maximum"
            ),
            1,
            "Events EventBridge could not deliver to this target wait in its dead-letter queue.",
        )

    def _alarm_topic(self) -> cloudwatch.IAlarmAction:
        key = kms.Key(
            self, "AlarmsKey", enable_key_rotation=True, description="Encrypts alarm notifications."
        )
        key_resource = key.node.default_child
        assert isinstance(key_resource, kms.CfnKey)
        key_resource.add_property_override(
            "KeyPolicy.Statement.0.Sid", "AccountRootEnablesIamPoliciesOfThisAccount"
        )
        key.add_to_resource_policy(
            iam.PolicyStatement(
                principals=[iam.ServicePrincipal(CLOUDWATCH)],
                actions=["kms:Decrypt", "kms:GenerateDataKey"],
                resources=["*"],
                conditions={"StringEquals": {"aws:SourceAccount": self.account}},
            )
        )
        topic = sns.Topic(self, "AlarmsTopic", master_key=key, enforce_ssl=True)
        alarms_arn = self.format_arn(
            service="cloudwatch",
            resource="alarm",
            resource_name="*",
            arn_format=ArnFormat.COLON_RESOURCE_NAME,
        )
        topic.add_to_resource_policy(
            iam.PolicyStatement(
                sid="AllowCloudWatchAlarmsToPublish",
                principals=[iam.ServicePrincipal(CLOUDWATCH)],
                actions=["sns:Publish"],
                resources=[topic.topic_arn],
                conditions={
                    "ArnLike": {"aws:SourceArn": alarms_arn},
                    "StringEquals": {"aws:SourceAccount": self.account},
                },
            )
        )
        return cw_actions.SnsAction(topic)

    def _queue(self, construct_id: str, **props: object) -> sqs.Queue:
        return sqs.Queue(
            self,
            construct_id,
            encryption=sqs.QueueEncryption.SQS_MANAGED,
            enforce_ssl=True,
            **props,  # type: ignore[arg-type]
        )

    def _alarm(
        self, construct_id: str, metric: cloudwatch.IMetric, threshold: float, description: str
    ) -> None:
        alarm = cloudwatch.Alarm(
            self,
            construct_id,
            metric=metric,
            threshold=threshold,
            evaluation_periods=1,
            datapoints_to_alarm=1,
            comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
            treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
            alarm_description=description,
        )
        alarm.add_alarm_action(self.alarm_action)
        alarm.add_ok_action(self.alarm_action)

    def _worker(self, name: str, code: lambda_.Code) -> sqs.Queue:
        dlq = self._queue(f"{name}DeadLetterQueue", retention_period=Duration.days(14))
        queue = self._queue(
            f"{name}Queue",
            visibility_timeout=Duration.seconds(6 * 30),
            dead_letter_queue=sqs.DeadLetterQueue(queue=dlq, max_receive_count=5),
        )
        log_group = logs.LogGroup(
            self,
            f"{name}LogGroup",
            retention=logs.RetentionDays.ONE_MONTH,
            removal_policy=RemovalPolicy.RETAIN,
        )
        role = iam.Role(
            self,
            f"{name}Role",
            assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
            description="Execution role: writes its own log group and X-Ray traces only.",
        )
        function = lambda_.Function(
            self,
            f"{name}Function",
            code=code,
            handler=HANDLER,
            runtime=lambda_.Runtime.PYTHON_3_14,
            architecture=lambda_.Architecture.ARM_64,
            memory_size=256,
            timeout=Duration.seconds(30),
            tracing=lambda_.Tracing.ACTIVE,
            logging_format=lambda_.LoggingFormat.JSON,
            application_log_level_v2=lambda_.ApplicationLogLevel.INFO,
            system_log_level_v2=lambda_.SystemLogLevel.WARN,
            log_group=log_group,
            role=role,
        )
        log_group.grant_write(role)
        queue.grant_consume_messages(function)
        lambda_.EventSourceMapping(
            self,
            f"{name}EventSource",
            target=function,
            event_source_arn=queue.queue_arn,
            batch_size=10,
            report_batch_item_failures=True,
            max_concurrency=10,
        )
        for suffix, metric, threshold, description in (
            (
                "DeadLetterMessages",
                dlq.metric_approximate_number_of_messages_visible(
                    period=PERIOD, statistic="Maximum"
                ),
                1,
                "Messages failed maxReceiveCount times and wait in the dead-letter queue.",
            ),
            (
                "OldestMessageAge",
                queue.metric_approximate_age_of_oldest_message(period=PERIOD, statistic="Maximum"),
                900,
                "The queue is falling behind: its oldest message is older than the threshold "
                "(seconds).",
            ),
            (
                "FunctionErrors",
                function.metric_errors(period=PERIOD, statistic="Sum"),
                1,
                "The worker function failed whole invocations (not single records).",
            ),
            (
                "FunctionThrottles",
                function.metric_throttles(period=PERIOD, statistic="Sum"),
                1,
                "The worker function was throttled; raise concurrency or lower max_concurrency "
                "of other consumers.",
            ),
        ):
            self._alarm(f"{name}{suffix}", metric, threshold, description)
        return queue


def main() -> None:
    app = App()
    HandWrittenStack(app, STACK_ID, asset_dir=Path(sys.argv[1]))
    app.synth()


if __name__ == "__main__":
    main()
