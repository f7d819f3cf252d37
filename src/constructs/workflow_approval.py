"""Human approval: a waitForTaskToken step and the API that answers it (pattern 8).

The token never authorises a decision by itself: the API is IAM-authorised by default, or it
accepts signed, expiring links (HMAC-SHA256 over token, decision and expiry with a secret in
Secrets Manager; ``serverless_patterns.runtime.workflows.approval``).

AWS pages relied on: "Wait for a Callback with Task Token" (``.waitForTaskToken``,
``$$.Task.Token``, SendTaskSuccess / SendTaskFailure, a task timeout so a lost token does not
wait for a year); "Control access to a REST API with IAM permissions" (``AWS_IAM``
authorization, ``execute-api:Invoke``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from aws_cdk import Duration
from aws_cdk import aws_apigateway as apigw
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_secretsmanager as secretsmanager
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sqs as sqs
from aws_cdk import aws_stepfunctions as sfn
from aws_cdk import aws_stepfunctions_tasks as tasks

from constructs import Construct
from serverless_patterns.constructs import _defaults
from serverless_patterns.constructs._api_hygiene import (
    THROTTLING_BURST_LIMIT,
    THROTTLING_RATE_LIMIT,
    pattern_api,
    protect_stage,
    validate_requests,
)
from serverless_patterns.constructs._function import BaselineFunction
from serverless_patterns.constructs._nag import (
    HIPAA,
    NIST,
    acknowledge,
    acknowledge_compliance,
    acknowledge_no_dlq,
)
from serverless_patterns.constructs._runtime_asset import runtime_code
from serverless_patterns.constructs._validation import check_whole_seconds, seconds
from serverless_patterns.constructs.api_gateway_account import depend_on_cloud_watch_role
from serverless_patterns.runtime.workflows import callback
from serverless_patterns.runtime.workflows.approval import APPROVE, DENIED_ERROR

HANDLER = "serverless_patterns.runtime.handlers.workflow_approval.handler"
DEFAULT_APPROVAL_TIMEOUT_HOURS = 24
#: A task may wait up to a year, a Standard execution's longest run.
MAX_APPROVAL_TIMEOUT_SECONDS = 365 * 24 * 3600
DEFAULT_MAX_LINK_LIFETIME_DAYS = 7
TIMEOUT_ERROR = "States.Timeout"


class ApprovalStep(sfn.StateMachineFragment):
    """Defines a step that asks a human to approve, then routes the decision through a Choice.

    ``RequestApproval`` sends ``{"taskToken", "executionId", "request"}`` to ``queue`` or
    ``topic`` with ``.waitForTaskToken`` and waits at most ``timeout``. The answer lands in
    ``result_path``: SendTaskSuccess's output (``{"decision": "approve", ...}``), or the error of a
    denial (``ApprovalDenied``, sent with SendTaskFailure) or of the timeout (``States.Timeout``),
    caught there. The ``Decision`` Choice then continues with ``on_approved``, ``on_timeout``
    or ``on_rejected``. Only those two errors are caught: any other failure fails the execution,
    so it stays redrivable.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        on_approved: sfn.IChainable,
        on_rejected: sfn.IChainable,
        on_timeout: sfn.IChainable | None = None,
        queue: sqs.IQueue | None = None,
        topic: sns.ITopic | None = None,
        request_path: str = "$",
        result_path: str = "$.approval",
        timeout: Duration | None = None,
    ) -> None:
        """
        :param on_approved: where an approval continues.
        :param on_rejected: where a denial continues.
        :param on_timeout: where a request nobody answered in time continues.
            Default: - ``on_rejected``.
        :param queue: the queue the request is sent to. Default: - none; give it or ``topic``.
        :param topic: the topic the request is published to. Default: - none.
        :param request_path: the part of the state input sent as ``request``.
            Default: - the whole input.
        :param result_path: where the decision is stored. Default: - ``$.approval``.
        :param timeout: how long to wait for a decision, whole seconds up to a year.
            Default: - 24 hours.
        """
        super().__init__(scope, construct_id)
        if (queue is None) == (topic is None):
            raise ValueError(f"{self.node.path}: pass exactly one of 'queue' or 'topic'")
        timeout = timeout or Duration.hours(DEFAULT_APPROVAL_TIMEOUT_HOURS)
        check_whole_seconds(self, "timeout", timeout, 1, MAX_APPROVAL_TIMEOUT_SECONDS)
        message = sfn.TaskInput.from_object(
            {
                "taskToken": sfn.JsonPath.task_token,
                "executionId": sfn.JsonPath.execution_id,
                "request": sfn.JsonPath.object_at(request_path),
            }
        )
        common: dict[str, Any] = {
            "integration_pattern": sfn.IntegrationPattern.WAIT_FOR_TASK_TOKEN,
            "task_timeout": sfn.Timeout.duration(timeout),
            "result_path": result_path,
        }
        #: The task that sends the request and waits for the token to come back.
        self.request: sfn.TaskStateBase
        if queue is not None:
            self.request = tasks.SqsSendMessage(
                self, "RequestApproval", queue=queue, message_body=message, **common
            )
        else:
            assert topic is not None
            self.request = tasks.SnsPublish(
                self, "RequestApproval", topic=topic, message=message, **common
            )
        #: The Choice routing approve / timeout / deny.
        self.decision = (
            sfn.Choice(self, "Decision")
            .when(
                sfn.Condition.and_(
                    sfn.Condition.is_present(f"{result_path}.decision"),
                    sfn.Condition.string_equals(f"{result_path}.decision", APPROVE),
                ),
                on_approved,
            )
            .when(
                sfn.Condition.and_(
                    sfn.Condition.is_present(f"{result_path}.Error"),
                    sfn.Condition.string_equals(f"{result_path}.Error", TIMEOUT_ERROR),
                ),
                on_timeout or on_rejected,
            )
            .otherwise(on_rejected)
        )
        self.request.add_catch(
            self.decision, errors=[DENIED_ERROR, TIMEOUT_ERROR], result_path=result_path
        )
        self.request.next(self.decision)
        self._ends = [
            *on_approved.end_states,
            *on_rejected.end_states,
            *(on_timeout.end_states if on_timeout is not None else []),
        ]

    @property
    def start_state(self) -> sfn.State:
        return self.request

    @property
    def end_states(self) -> list[sfn.INextable]:
        return self._ends


class ApprovalApi(Construct):
    """Defines the API approvers answer an ``ApprovalStep`` through.

    By default it creates: a REST API with ``POST /approvals`` authorised by IAM (callers need
    ``execute-api:Invoke`` on it; ``grant_invoke``), taking ``{"taskToken", "decision",
    "reason"}``; a callback ``BaselineFunction`` (10 s timeout) allowed only SendTaskSuccess
    and SendTaskFailure on ``state_machines``; a stage ``prod`` with JSON
    access logs kept one month, tracing and throttling (100 requests/s, burst 200).
    With ``signed_links=True`` it serves ``GET /approvals/link`` instead, without an authorizer:
    each link is signed (HMAC-SHA256 over token, decision and expiry) with the secret in a new
    Secrets Manager secret (``secret``), links expire, and an expiry more than 7 days away is
    refused. A tampered link answers 403, an expired one 410, a token already decided 409.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        state_machines: Sequence[sfn.IStateMachine],
        signed_links: bool = False,
        max_link_lifetime: Duration | None = None,
        code: lambda_.Code | None = None,
        stage_name: str = "prod",
        access_log_retention: logs.RetentionDays = _defaults.LOG_RETENTION,
        cloud_watch_role: bool = True,
        web_acl_arn: str | None = None,
        encryption_key: kms.IKey | None = None,
    ) -> None:
        """
        :param state_machines: the state machines whose approval tokens the API answers.
        :param signed_links: accept signed, expiring links instead of IAM-authorised calls.
            Default: - False (IAM).
        :param max_link_lifetime: the furthest expiry a link may carry (signed links only).
            Default: - 7 days.
        :param code: the callback's code. Default: - ``runtime_code()``.
        :param stage_name: the deployment stage. Default: - ``prod``.
        :param access_log_retention: how long access logs are kept. Default: - one month.
        :param cloud_watch_role: make the stage depend on the app's account-level API Gateway
            CloudWatch Logs role. Default: - True (see ``ApiGatewayCloudWatchRole``).
        :param web_acl_arn: ARN of a regional WAFv2 web ACL to associate with the stage.
            Default: - no web ACL (the stage's WAF finding is acknowledged).
        :param encryption_key: a customer-managed key encrypting the link secret, the access
            logs and the callback's logs. Default: - AWS managed and CloudWatch Logs encryption.
        """
        super().__init__(scope, construct_id)
        if not state_machines:
            raise ValueError(f"{self.node.path}: pass at least one state machine")
        if max_link_lifetime is not None and not signed_links:
            raise ValueError(
                f"{self.node.path}: max_link_lifetime applies to signed links; "
                "pass signed_links=True or leave it out"
            )
        lifetime = max_link_lifetime or Duration.days(DEFAULT_MAX_LINK_LIFETIME_DAYS)
        check_whole_seconds(self, "max_link_lifetime", lifetime, 60, MAX_APPROVAL_TIMEOUT_SECONDS)
        environment = {callback.MODE_ENV: callback.IAM_MODE}
        #: The link-signing secret; None in IAM mode.
        self.secret: secretsmanager.Secret | None = None
        if signed_links:
            self.secret = secretsmanager.Secret(
                self,
                "LinkSecret",
                description="Signs approval links (HMAC-SHA256).",
                encryption_key=encryption_key,
                generate_secret_string=secretsmanager.SecretStringGenerator(
                    password_length=48, exclude_punctuation=True
                ),
            )
            rotation = (
                "Rotating the signing secret invalidates every link not yet answered; rotate it "
                "by putting a JSON list [new, old] while links signed with the old one expire."
            )
            acknowledge(self.secret, "AwsSolutions-SMG4", rotation)
            acknowledge_compliance(
                self.secret, "SecretsManagerRotationEnabled", rotation, (NIST, HIPAA)
            )
            environment = {
                callback.MODE_ENV: callback.LINK_MODE,
                callback.SECRET_ARN_ENV: self.secret.secret_arn,
                callback.MAX_LINK_LIFETIME_ENV: str(seconds(lifetime)),
            }
        #: The callback function.
        self.function = BaselineFunction(
            self,
            "Function",
            code=code or runtime_code(),
            handler=HANDLER,
            function_props={"timeout": Duration.seconds(10), "environment": environment},
            encryption_key=encryption_key,
        )
        acknowledge_no_dlq(
            self.function,
            "API Gateway invokes the callback synchronously; a function DLQ applies only to "
            "asynchronous invocations.",
        )
        if self.secret is not None:
            self.secret.grant_read(self.function)
        self.function.add_to_role_policy(
            iam.PolicyStatement(
                actions=["states:SendTaskSuccess", "states:SendTaskFailure"],
                resources=[machine.state_machine_arn for machine in state_machines],
            )
        )
        #: The REST API.
        self.api, _ = pattern_api(
            self,
            stage_name=stage_name,
            access_log_retention=access_log_retention,
            encryption_key=encryption_key,
            throttling_rate_limit=THROTTLING_RATE_LIMIT,
            throttling_burst_limit=THROTTLING_BURST_LIMIT,
            description="Approval decisions for workflows waiting on a task token.",
            endpoint_types=[apigw.EndpointType.REGIONAL],
        )
        depend_on_cloud_watch_role(self.api.deployment_stage, enabled=cloud_watch_role)
        #: The stage's web ACL association; None without ``web_acl_arn``.
        self.web_acl_association = protect_stage(self.api.deployment_stage, web_acl_arn)
        integration = apigw.LambdaIntegration(self.function)
        approvals = self.api.root.add_resource("approvals")
        validator = validate_requests(self.api, "Validator")
        if signed_links:
            self.method = approvals.add_resource("link").add_method(
                "GET",
                integration,
                authorization_type=apigw.AuthorizationType.NONE,
                request_validator=validator,
                request_parameters={
                    f"method.request.querystring.{name}": True
                    for name in ("token", "decision", "expires", "signature")
                },
            )
            reason = (
                "A signed link authorises itself: the callback verifies an HMAC over token, "
                "decision and expiry with a secret from Secrets Manager before deciding."
            )
            acknowledge(self.method, "AwsSolutions-APIG4", reason)
            acknowledge(self.method, "AwsSolutions-COG4", reason)
        else:
            self.method = approvals.add_method(
                "POST",
                integration,
                authorization_type=apigw.AuthorizationType.IAM,
                request_validator=validator,
            )
            acknowledge(
                self.method,
                "AwsSolutions-COG4",
                "Approvers are authorised by IAM (SigV4); a Cognito user pool is not needed.",
            )

    @property
    def link_url(self) -> str:
        """The base URL of signed links (``approval_link(api.link_url, ...)``)."""
        return self.api.url_for_path(callback.LINK_PATH)

    def grant_invoke(self, grantee: iam.IGrantable) -> iam.Grant:
        """Lets ``grantee`` call ``POST /approvals`` (IAM mode)."""
        return iam.Grant.add_to_principal(
            grantee=grantee,
            actions=["execute-api:Invoke"],
            resource_arns=[self.method.method_arn],
        )


__all__ = ["ApprovalApi", "ApprovalStep"]
