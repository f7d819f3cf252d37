"""WorkflowRedrive: redrive failed executions of a Standard state machine, capped and delayed.

No function is involved: an EventBridge rule on the default bus starts a small state machine
(the redriver) that waits, then calls ``states:RedriveExecution`` through the AWS SDK
integration ``arn:aws:states:::aws-sdk:sfn:redriveExecution``, or fails when the cap is reached,
which the redriver's failed-executions alarm reports.

AWS pages relied on:
- "Automating Step Functions event delivery with EventBridge": the default bus receives a
  "Step Functions Execution Status Change" event (source ``aws.states``) for every status
  change of a Standard workflow, with ``status``, ``stateMachineArn``, ``executionArn``,
  ``redriveCount`` and ``redriveStatus`` in ``detail``.
- "Redriving executions": FAILED, TIMED_OUT and ABORTED Standard executions can be redriven
  within 14 days; ``redriveCount`` counts successful redrives.
- "Express workflows": an Express execution runs at most 5 minutes, so a longer delay makes the
  redriver a Standard workflow.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from aws_cdk import ArnFormat, Duration, Stack
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_logs as logs
from aws_cdk import aws_sns as sns
from aws_cdk import aws_stepfunctions as sfn
from aws_cdk import aws_stepfunctions_tasks as tasks

from constructs import Construct
from serverless_patterns.constructs import _defaults
from serverless_patterns.constructs._alarms import AlarmSpec, threshold_alarms
from serverless_patterns.constructs._nag import acknowledge, acknowledge_compliance
from serverless_patterns.constructs._queue import dead_letter_queue
from serverless_patterns.constructs._state_machine import (
    OWN_ROLE_INLINE_POLICY,
    logged_state_machine,
)
from serverless_patterns.constructs._validation import check_range, check_whole_seconds, seconds

#: The statuses after which an execution may be redriven ("Redriving executions").
REDRIVABLE_STATUSES = ("FAILED", "TIMED_OUT", "ABORTED")
DEFAULT_MAX_REDRIVES = 3
DEFAULT_DELAY_SECONDS = 60
#: The longest delay an Express redriver can wait (an Express execution lasts at most 5 minutes,
#: and the redrive call needs a moment after the wait).
MAX_EXPRESS_DELAY_SECONDS = 240
#: The longest delay accepted: redrive is possible for 14 days after the failure; a day leaves
#: time for the remaining redrives.
MAX_DELAY_SECONDS = 24 * 3600
#: The most redrives accepted per execution (RedriveExecution: at most 1000 per execution).
MAX_REDRIVES = 1000
#: The error of the redriver's Fail state when the cap is reached.
CAP_REACHED_ERROR = "RedriveCapReached"


@dataclass(frozen=True)
class RedriveOptions:
    """How failed executions are redriven.

    :param delay: how long to wait after the failure before redriving, whole seconds, 0 s to
        1 day. Up to 4 minutes the redriver is an Express workflow; longer, a Standard one.
        Default: - 1 minute.
    :param max_redrives: redrives per execution (``redriveCount``) after which the redriver
        alerts instead, 0-1000. Default: - 3.
    :param alert_topic: a topic the redriver publishes the status change event to when the
        cap is reached (besides failing, which the ``RedriveFailed`` alarm reports).
        Default: - no topic; the alarm alone alerts.
    """

    delay: Duration = field(default_factory=lambda: Duration.seconds(DEFAULT_DELAY_SECONDS))
    max_redrives: int = DEFAULT_MAX_REDRIVES
    alert_topic: sns.ITopic | None = None


class WorkflowRedrive(Construct):
    """Defines automatic redrive of a Standard state machine's failed executions.

    It creates: an EventBridge rule on the default bus matching "Step Functions Execution Status
    Change" events of ``state_machine`` whose status is FAILED, TIMED_OUT or ABORTED and whose
    ``redriveStatus`` is REDRIVABLE; a redriver state machine (logged, traced) that, when
    ``redriveCount`` is below ``max_redrives``, waits ``delay`` and redrives the execution, and
    otherwise fails with ``RedriveCapReached`` (after publishing to ``alert_topic`` if given); a
    dead-letter queue for events the rule could not deliver; and alarms on the redriver's failed
    executions (cap reached, or a redrive refused) and on the dead-letter queue.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        state_machine: sfn.StateMachine,
        options: RedriveOptions | None = None,
        log_retention: logs.RetentionDays = _defaults.LOG_RETENTION,
        encryption_key: kms.IKey | None = None,
        alarm_action: cloudwatch.IAlarmAction | None = None,
    ) -> None:
        """
        :param state_machine: the Standard state machine whose executions are redriven.
        :param options: delay, cap and alert topic. Default: - ``RedriveOptions()``.
        :param log_retention: how long the redriver's logs are kept. Default: - one month.
        :param encryption_key: a customer-managed key for the redriver's state and logs and the
            dead-letter queue. Default: - AWS owned keys (SQS-managed for the queue).
        :param alarm_action: action of both alarms (ALARM and OK).
            Default: - alarms without actions.
        """
        super().__init__(scope, construct_id)
        options = options or RedriveOptions()
        check_whole_seconds(self, "delay", options.delay, 0, MAX_DELAY_SECONDS)
        check_range(self, "max_redrives", options.max_redrives, 0, MAX_REDRIVES)
        delay = seconds(options.delay)
        express = delay <= MAX_EXPRESS_DELAY_SECONDS
        #: The state machine whose executions are redriven.
        self.target = state_machine
        #: The redriver (Express up to a 4-minute delay, Standard beyond).
        self.redriver, self.log_group = logged_state_machine(
            self,
            "Redriver",
            definition=self._definition(state_machine, options, delay),
            state_machine_type=sfn.StateMachineType.EXPRESS
            if express
            else sfn.StateMachineType.STANDARD,
            timeout=Duration.seconds(delay + 60),
            log_level=sfn.LogLevel.ALL,
            include_execution_data=False,
            log_retention=log_retention,
            encryption_key=encryption_key,
        )
        acknowledge(
            self.redriver.role,
            f"AwsSolutions-IAM5[Resource::{_nag_executions_arn(state_machine)}]",
            "RedriveExecution acts on an execution; ':*' covers the executions of this one "
            "state machine only.",
        )
        #: Events the rule could not deliver to the redriver.
        self.dead_letter_queue = dead_letter_queue(
            self,
            "DeadLetterQueue",
            fifo=False,
            dead_letter_of="the redrive rule's target",
            encryption_key=encryption_key,
        )
        #: The role EventBridge starts the redriver with (StartExecution on it only).
        self.rule_role = iam.Role(
            self,
            "RuleRole",
            assumed_by=iam.ServicePrincipal("events.amazonaws.com"),
            description="Starts the redriver for a failed workflow execution.",
        )
        acknowledge_compliance(self.rule_role, "IAMNoInlinePolicy", OWN_ROLE_INLINE_POLICY)
        if encryption_key is not None:
            # "Data at rest encryption in Step Functions": starting an execution of a state
            # machine encrypted with a customer-managed key encrypts its input with that key.
            encryption_key.grant(self.rule_role, "kms:GenerateDataKey", "kms:Decrypt")
        #: The rule matching redrivable failures of ``state_machine``.
        self.rule = events.Rule(
            self,
            "Rule",
            description="Redrives failed executions of a workflow after a delay, up to a cap.",
            event_pattern=events.EventPattern(
                source=["aws.states"],
                detail_type=["Step Functions Execution Status Change"],
                detail={
                    "stateMachineArn": [state_machine.state_machine_arn],
                    "status": list(REDRIVABLE_STATUSES),
                    "redriveStatus": ["REDRIVABLE"],
                },
            ),
            targets=[
                targets.SfnStateMachine(
                    self.redriver,
                    role=self.rule_role,
                    dead_letter_queue=self.dead_letter_queue,
                    retry_attempts=_defaults.EVENT_RETRY_ATTEMPTS,
                    max_event_age=Duration.seconds(_defaults.EVENT_MAX_EVENT_AGE_SECONDS),
                )
            ],
        )
        specs: list[AlarmSpec] = [
            (
                "RedriveFailed",
                self.redriver.metric_failed(period=_defaults.metric_period(), statistic="Sum"),
                1,
                "An execution reached its redrive cap, or a redrive was refused: look at the "
                "redriver's log and redrive or fix the execution by hand.",
            ),
            (
                "DeadLetterMessages",
                self.dead_letter_queue.metric_approximate_number_of_messages_visible(
                    period=_defaults.metric_period(), statistic="Maximum"
                ),
                1,
                "Status change events could not be delivered to the redriver.",
            ),
        ]
        #: Alarms: ``RedriveFailed`` and ``DeadLetterMessages``.
        self.alarms: list[cloudwatch.Alarm] = threshold_alarms(self, specs, action=alarm_action)

    def _definition(
        self, state_machine: sfn.StateMachine, options: RedriveOptions, delay: int
    ) -> sfn.IChainable:
        redrive = tasks.CallAwsService(
            self,
            "RedriveExecution",
            service="sfn",
            action="redriveExecution",
            parameters={"ExecutionArn": sfn.JsonPath.string_at("$.detail.executionArn")},
            iam_action="states:RedriveExecution",
            iam_resources=[_executions_arn(self, state_machine)],
            result_path=sfn.JsonPath.DISCARD,
        )
        wait = sfn.Wait(self, "Delay", time=sfn.WaitTime.duration(Duration.seconds(delay))).next(
            redrive
        )
        cap_reached: sfn.IChainable = sfn.Fail(
            self,
            "CapReached",
            error=CAP_REACHED_ERROR,
            cause=f"The execution was redriven {options.max_redrives} times and failed again.",
        )
        if options.alert_topic is not None:
            cap_reached = tasks.SnsPublish(
                self,
                "Alert",
                topic=options.alert_topic,
                subject="Workflow redrive cap reached",
                message=sfn.TaskInput.from_json_path_at("$"),
                result_path=sfn.JsonPath.DISCARD,
            ).next(cap_reached)
        return (
            sfn.Choice(self, "BelowCap")
            .when(
                sfn.Condition.number_less_than("$.detail.redriveCount", options.max_redrives), wait
            )
            .otherwise(cap_reached)
        )


def _executions_arn(scope: Construct, state_machine: sfn.StateMachine) -> str:
    """``arn:...:states:region:account:execution:<state machine name>:*``: the executions of
    ``state_machine`` only (RedriveExecution's resource type is an execution)."""
    return Stack.of(scope).format_arn(
        service="states",
        resource="execution",
        resource_name=f"{state_machine.state_machine_name}:*",
        arn_format=ArnFormat.COLON_RESOURCE_NAME,
    )


def _nag_executions_arn(state_machine: sfn.StateMachine) -> str:
    """``_executions_arn`` as cdk-nag writes it in a finding id."""
    logical_id = Stack.of(state_machine).get_logical_id(
        state_machine.node.default_child  # type: ignore[arg-type]
    )
    return (
        "arn:<AWS::Partition>:states:<AWS::Region>:<AWS::AccountId>:execution:"
        f"<{logical_id}.Name>:*"
    )
