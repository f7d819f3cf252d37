"""Workflow: a Standard state machine with production defaults and automatic redrive
(pattern 8)."""

from __future__ import annotations

from dataclasses import dataclass, field

from aws_cdk import Annotations, Duration
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_kms as kms
from aws_cdk import aws_logs as logs
from aws_cdk import aws_stepfunctions as sfn

from constructs import Construct
from serverless_patterns.constructs import _defaults
from serverless_patterns.constructs._alarms import AlarmSpec, threshold_alarms
from serverless_patterns.constructs._state_machine import logged_state_machine
from serverless_patterns.constructs._validation import check_whole_seconds
from serverless_patterns.constructs._workflow_catches import blocking_catches, reachable_states
from serverless_patterns.constructs.workflow_redrive import RedriveOptions, WorkflowRedrive

#: A Standard execution lasts at most one year ("Step Functions service quotas").
MAX_TIMEOUT_SECONDS = 365 * 24 * 3600
DEFAULT_TIMEOUT_DAYS = 7
#: The id of the synth-time warning about catch-all Catch rules routed to a Fail state.
CATCH_ALL_TO_FAIL_WARNING = "serverless-patterns:workflow:catchAllToFail"


@dataclass(frozen=True)
class WorkflowAlarms:
    """Alarm thresholds of a Workflow (executions per period); None leaves that alarm out.

    :param failed: ``ExecutionsFailed``. Default: - 1.
    :param timed_out: ``ExecutionsTimedOut``. Default: - 1.
    :param aborted: ``ExecutionsAborted``. Default: - 1.
    :param throttled: ``ExecutionThrottled`` (state transitions throttled). Default: - 1.
    :param period: the period each metric is evaluated over. Default: - 5 minutes.
    """

    failed: int | None = 1
    timed_out: int | None = 1
    aborted: int | None = 1
    throttled: int | None = 1
    period: Duration = field(default_factory=_defaults.metric_period)


class Workflow(Construct):
    """Defines a Standard Step Functions state machine with production defaults.

    By default it creates: the state machine (X-Ray tracing on, executions time out after
    7 days) logging every event (level ALL, without execution data) to its own log group kept
    one month; a role CDK derives from the definition's tasks (least privilege); alarms on
    failed, timed-out, aborted and throttled executions; and ``WorkflowRedrive``, which
    redrives a failed execution after 1 minute, at most 3 times, then alerts. A catch-all
    Catch routed to a Fail state gets a synth-time warning, because it keeps redrive from
    retrying the failed step.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        definition: sfn.IChainable,
        state_machine_name: str | None = None,
        timeout: Duration | None = None,
        log_level: sfn.LogLevel = sfn.LogLevel.ALL,
        include_execution_data: bool = False,
        log_retention: logs.RetentionDays = _defaults.LOG_RETENTION,
        encryption_key: kms.IKey | None = None,
        automatic_redrive: bool = True,
        redrive: RedriveOptions | None = None,
        alarms: WorkflowAlarms | None = None,
        alarm_action: cloudwatch.IAlarmAction | None = None,
    ) -> None:
        """
        :param definition: the workflow's states (a chain or a ``StateMachineFragment``).
        :param state_machine_name: the state machine's name. Default: - a generated name.
        :param timeout: how long an execution may run, whole seconds up to a year.
            Default: - 7 days.
        :param log_level: which events are logged. Default: - ``LogLevel.ALL``.
        :param include_execution_data: log states' input and output (they may hold personal
            data). Default: - False.
        :param log_retention: how long the logs are kept. Default: - one month.
        :param encryption_key: a customer-managed key encrypting the execution data and the
            logs. Default: - AWS owned keys.
        :param automatic_redrive: redrive failed executions (``WorkflowRedrive``).
            Default: - True.
        :param redrive: delay, cap and alert topic of the redrive.
            Default: - ``RedriveOptions()``: after 1 minute, at most 3 times.
        :param alarms: alarm thresholds. Default: - ``WorkflowAlarms()``.
        :param alarm_action: action for every alarm (ALARM and OK), the redrive's included.
            Default: - alarms without actions.
        """
        super().__init__(scope, construct_id)
        if not automatic_redrive and redrive is not None:
            raise ValueError(
                f"{self.node.path}: 'redrive' configures automatic redrive; it cannot be "
                "given with automatic_redrive=False"
            )
        timeout = timeout or Duration.days(DEFAULT_TIMEOUT_DAYS)
        check_whole_seconds(self, "timeout", timeout, 1, MAX_TIMEOUT_SECONDS)
        for found in blocking_catches(reachable_states(definition)):
            Annotations.of(self).add_warning_v2(
                CATCH_ALL_TO_FAIL_WARNING,
                f"A catch-all Catch routes to a Fail state ({found}): an execution failing "
                "there cannot be redriven past the error. Catch specific errors, or let the "
                "error fail the execution.",
            )
        #: The state machine and its log group.
        self.state_machine, self.log_group = logged_state_machine(
            self,
            "StateMachine",
            definition=definition,
            state_machine_type=sfn.StateMachineType.STANDARD,
            timeout=timeout,
            log_level=log_level,
            include_execution_data=include_execution_data,
            log_retention=log_retention,
            encryption_key=encryption_key,
            state_machine_name=state_machine_name,
        )
        thresholds = alarms or WorkflowAlarms()
        period = thresholds.period
        machine = self.state_machine
        specs: list[AlarmSpec] = [
            (
                "ExecutionsFailed",
                machine.metric_failed(period=period, statistic="Sum"),
                thresholds.failed,
                "Executions failed.",
            ),
            (
                "ExecutionsTimedOut",
                machine.metric_timed_out(period=period, statistic="Sum"),
                thresholds.timed_out,
                "Executions timed out.",
            ),
            (
                "ExecutionsAborted",
                machine.metric_aborted(period=period, statistic="Sum"),
                thresholds.aborted,
                "Executions were aborted.",
            ),
            (
                "ExecutionThrottled",
                machine.metric_throttled(period=period, statistic="Sum"),
                thresholds.throttled,
                "State transitions were throttled.",
            ),
        ]
        #: The alarms, in the order above (the redrive's are on ``redrive.alarms``).
        self.alarms: list[cloudwatch.Alarm] = threshold_alarms(self, specs, action=alarm_action)
        #: The automatic redrive; None with ``automatic_redrive=False``.
        self.redrive: WorkflowRedrive | None = (
            WorkflowRedrive(
                self,
                "Redrive",
                state_machine=machine,
                options=redrive,
                log_retention=log_retention,
                encryption_key=encryption_key,
                alarm_action=alarm_action,
            )
            if automatic_redrive
            else None
        )
