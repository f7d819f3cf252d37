"""REST API hygiene shared by API patterns: the REST API with its logged stage and request
validator, JSON access logs, usage plan tiers, the stage's web ACL and findings."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from aws_cdk import Duration
from aws_cdk import aws_apigateway as apigw
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_logs as logs
from aws_cdk import aws_wafv2 as wafv2

from constructs import Construct, IConstruct
from serverless_patterns.constructs._encryption import log_group
from serverless_patterns.constructs._nag import NIST, PCI, acknowledge, acknowledge_compliance
from serverless_patterns.constructs._validation import is_known

#: API Gateway's limit for a REST integration (seed and documentation): 50 ms to 29 s.
MIN_INTEGRATION_TIMEOUT_MS = 50
MAX_INTEGRATION_TIMEOUT_MS = 29_000

#: Stage throttling defaults: steady requests per second and burst (the account default is
#: 10,000 / 5,000; one API should not be able to take all of it).
THROTTLING_RATE_LIMIT = 100.0
THROTTLING_BURST_LIMIT = 200


@dataclass(frozen=True)
class UsagePlanTier:
    """One usage plan: API keys in it share this rate, burst and quota.

    API keys identify and throttle clients; they are not authentication (the authorizer is).

    :param name: the tier's name, also its construct id (for example ``"Free"``).
    :param rate_limit: steady requests per second per key.
    :param burst_limit: burst requests per key.
    :param quota_limit: requests per ``quota_period``. Default: - no quota.
    :param quota_period: the quota's period. Default: - a month.
    """

    name: str
    rate_limit: float
    burst_limit: int
    quota_limit: int | None = None
    quota_period: apigw.Period = apigw.Period.MONTH


#: Example tiers (seed: free / basic / premium with rate, burst and quota).
DEFAULT_USAGE_TIERS = (
    UsagePlanTier("Free", rate_limit=5, burst_limit=10, quota_limit=10_000),
    UsagePlanTier("Basic", rate_limit=50, burst_limit=100, quota_limit=1_000_000),
    UsagePlanTier("Premium", rate_limit=200, burst_limit=400, quota_limit=None),
)


def pattern_api(
    scope: Construct,
    *,
    stage_name: str,
    access_log_retention: logs.RetentionDays,
    encryption_key: kms.IKey | None,
    throttling_rate_limit: float,
    throttling_burst_limit: int,
    **rest_api_props: Any,
) -> tuple[apigw.RestApi, logs.ILogGroup]:
    """Defines the REST API ``Api`` of an API pattern and its access log group: the stage
    from ``stage_options``, access logs in a new log group ``AccessLogs`` kept
    ``access_log_retention`` (encrypted with ``encryption_key`` when given), no CloudWatch Logs
    role of its own (the account-level one is ``ApiGatewayCloudWatchRole``'s).
    ``rest_api_props`` are more ``RestApi`` arguments."""
    access_log_group = log_group(
        scope, "AccessLogs", retention=access_log_retention, encryption_key=encryption_key
    )
    api = apigw.RestApi(
        scope,
        "Api",
        **{
            **rest_api_props,
            "cloud_watch_role": False,
            "deploy_options": stage_options(
                stage_name,
                access_log_group,
                throttling_rate_limit=throttling_rate_limit,
                throttling_burst_limit=throttling_burst_limit,
            ),
        },
    )
    return api, access_log_group


def grant_invoke_stage(api: apigw.RestApi, grantee: iam.IGrantable) -> iam.Grant:
    """Grants ``grantee`` ``execute-api:Invoke`` on every method of ``api``'s stage."""
    return iam.Grant.add_to_principal(
        grantee=grantee,
        actions=["execute-api:Invoke"],
        resource_arns=[api.arn_for_execute_api(stage=api.deployment_stage.stage_name)],
    )


def validate_requests(
    api: apigw.RestApi, construct_id: str = "RequestValidator"
) -> apigw.RequestValidator:
    """Adds to ``api`` a request validator of bodies (against their model) and parameters."""
    return api.add_request_validator(
        construct_id, validate_request_body=True, validate_request_parameters=True
    )


def stage_options(
    stage_name: str,
    access_log_group: logs.ILogGroup,
    *,
    throttling_rate_limit: float,
    throttling_burst_limit: int,
) -> apigw.StageOptions:
    """The stage of every API pattern: JSON access logs to ``access_log_group``, X-Ray
    tracing, CloudWatch metrics and stage throttling."""
    return apigw.StageOptions(
        stage_name=stage_name,
        access_log_destination=apigw.LogGroupLogDestination(access_log_group),
        access_log_format=json_access_log_format(),
        tracing_enabled=True,
        throttling_rate_limit=throttling_rate_limit,
        throttling_burst_limit=throttling_burst_limit,
        metrics_enabled=True,
    )


def json_access_log_format() -> apigw.AccessLogFormat:
    """One JSON object per request: ids, caller, route, status, latencies and errors."""
    return apigw.AccessLogFormat.custom(
        '{"requestId":"$context.requestId",'
        '"extendedRequestId":"$context.extendedRequestId",'
        '"requestTime":"$context.requestTime",'
        '"ip":"$context.identity.sourceIp",'
        '"caller":"$context.identity.caller",'
        '"user":"$context.identity.user",'
        '"apiKeyId":"$context.identity.apiKeyId",'
        '"httpMethod":"$context.httpMethod",'
        '"resourcePath":"$context.resourcePath",'
        '"protocol":"$context.protocol",'
        '"status":"$context.status",'
        '"responseLength":"$context.responseLength",'
        '"responseLatency":"$context.responseLatency",'
        '"integrationLatency":"$context.integration.latency",'
        '"integrationStatus":"$context.integration.status",'
        '"errorMessage":"$context.error.message",'
        '"xrayTraceId":"$context.xrayTraceId"}'
    )


def associate_web_acl(
    stage: apigw.Stage, web_acl_arn: str | None
) -> wafv2.CfnWebACLAssociation | None:
    """Associates the regional WAFv2 web ACL ``web_acl_arn`` with ``stage`` (a
    ``WebACLAssociation`` child of the stage with the id ``WebAcl``), or acknowledges the
    stage's WAF findings when there is none.

    The association names the stage by ``stage.stage_arn``,
    ``arn:<partition>:apigateway:<region>::/restapis/<api-id>/stages/<stage-name>``: the format
    "AWS::WAFv2::WebACLAssociation" (CloudFormation reference, ResourceArn) requires for a REST
    API.
    """
    check_web_acl_arn(stage, web_acl_arn)
    if web_acl_arn is None:
        reason = (
            "No web ACL was given (web_acl_arn): a WAF web ACL is an account-level choice the "
            "library does not own; pass web_acl_arn to associate yours with the stage."
        )
        acknowledge(stage, "AwsSolutions-APIG3", reason)
        acknowledge_compliance(stage, "APIGWAssociatedWithWAF", reason, (NIST, PCI))
        return None
    return wafv2.CfnWebACLAssociation(
        stage, "WebAcl", resource_arn=stage.stage_arn, web_acl_arn=web_acl_arn
    )


#: A regional WAFv2 web ACL's ARN ("AWS WAF resource types": ``arn:<partition>:wafv2:<region>:
#: <account>:regional/webacl/<name>/<id>``); a CLOUDFRONT-scope (``global``) web ACL cannot be
#: associated with an API Gateway stage.
_REGIONAL_WEB_ACL_ARN = re.compile(
    r"^arn:aws[a-z-]*:wafv2:[a-z0-9-]+:\d{12}:regional/webacl/[A-Za-z0-9_-]{1,128}/[a-f0-9-]+$"
)


def check_web_acl_arn(scope: IConstruct, web_acl_arn: str | None) -> None:
    """Raises ValueError, naming ``scope``'s path and the value, when a known ``web_acl_arn``
    is not a regional WAFv2 web ACL's ARN."""
    if web_acl_arn is None or not is_known(web_acl_arn):
        return
    if not _REGIONAL_WEB_ACL_ARN.match(web_acl_arn):
        raise ValueError(
            f"{scope.node.path}: web_acl_arn must be a regional WAFv2 web ACL ARN "
            "(arn:<partition>:wafv2:<region>:<account>:regional/webacl/<name>/<id>), "
            f"got {web_acl_arn!r}"
        )


def protect_stage(stage: apigw.Stage, web_acl_arn: str | None) -> wafv2.CfnWebACLAssociation | None:
    """``associate_web_acl``, then ``acknowledge_stage``: what every API pattern's stage gets."""
    association = associate_web_acl(stage, web_acl_arn)
    acknowledge_stage(stage)
    return association


def acknowledge_stage(stage: apigw.Stage) -> None:
    """Acknowledges the stage findings no library construct can fix (execution logs, cache,
    client certificate)."""
    execution_logs = (
        "Execution logs go to log groups API Gateway creates without retention and may "
        "record request data; JSON access logs, kept as configured, are on for every request."
    )
    acknowledge(stage, "AwsSolutions-APIG6", execution_logs)
    acknowledge_compliance(stage, "APIGWExecutionLoggingEnabled", execution_logs)
    acknowledge_compliance(
        stage,
        "APIGWCacheEnabledAndEncrypted",
        "The stage caches no responses (every answer depends on the caller's request or is a "
        "write), so no cached data exists to encrypt.",
    )
    acknowledge_compliance(
        stage,
        "APIGWSSLEnabled",
        "Every integration is a Lambda proxy integration invoked through the Lambda API; a "
        "client certificate authenticates API Gateway only to HTTP backends.",
    )


def stage_metric(
    scope: IConstruct,
    api: apigw.IRestApi,
    stage_name: str,
    metric_name: str,
    *,
    statistic: str,
    period: Duration,
) -> cloudwatch.Metric:
    """``AWS/ApiGateway`` ``metric_name`` of a stage: dimensions ``ApiName`` (as API Gateway
    publishes it, see ``api_name_dimension``) and ``Stage``, both names as written, not
    references to the resources."""
    return cloudwatch.Metric(
        namespace="AWS/ApiGateway",
        metric_name=metric_name,
        dimensions_map={"ApiName": api_name_dimension(scope, api), "Stage": stage_name},
        statistic=statistic,
        period=period,
    )


def error_rate(
    errors: cloudwatch.IMetric, *, label: str, period: Duration
) -> cloudwatch.MathExpression:
    """A stage's ``4XXError`` or ``5XXError`` metric as a percentage of its requests: API
    Gateway publishes 1 per error and 0 per other request, so the ``Average`` statistic of
    ``errors`` is the share, and the expression multiplies it by 100."""
    return cloudwatch.MathExpression(
        expression="errors * 100", using_metrics={"errors": errors}, label=label, period=period
    )


def api_name_dimension(scope: IConstruct, api: apigw.IRestApi) -> str:
    """The ``ApiName`` dimension API Gateway publishes the API's metrics with.

    "Amazon API Gateway dimensions and metrics": API Gateway removes non-ASCII characters from
    the ApiName dimension before sending metrics (and uses the API id when none is left). An
    alarm on the name as written would watch a metric that never gets data, so the name is
    stripped the same way; a name with no ASCII character is a ValueError naming ``scope``.
    """
    name = api.rest_api_name
    if not is_known(name) or name.isascii():
        return name
    stripped = "".join(character for character in name if character.isascii())
    if not stripped:
        raise ValueError(
            f"{scope.node.path}: rest_api_name {name!r} has no ASCII character; API Gateway "
            "then publishes its metrics under the API id, which the alarms cannot name: add "
            "ASCII characters to the name"
        )
    return stripped
