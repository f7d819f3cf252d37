"""CanaryApi: gradual, alarm-guarded API releases (pattern 4)."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from aws_cdk import Annotations, Duration, Names, Stack
from aws_cdk import aws_apigateway as apigw
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_codedeploy as codedeploy
from aws_cdk import aws_cognito as cognito
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs

from constructs import Construct
from serverless_patterns.constructs import _defaults
from serverless_patterns.constructs._alarms import AlarmSpec, threshold_alarms
from serverless_patterns.constructs._api_hygiene import (
    MAX_INTEGRATION_TIMEOUT_MS,
    MIN_INTEGRATION_TIMEOUT_MS,
    THROTTLING_BURST_LIMIT,
    THROTTLING_RATE_LIMIT,
    UsagePlanTier,
    error_rate,
    grant_invoke_stage,
    pattern_api,
    protect_stage,
    stage_metric,
    validate_requests,
)
from serverless_patterns.constructs._deployment_config import (
    TrafficShift,
    check_traffic_shift,
    deployment_config,
)
from serverless_patterns.constructs._function import (
    BaselineFunction,
    function_or_baseline,
    reserved_concurrency,
)
from serverless_patterns.constructs._nag import (
    acknowledge,
    acknowledge_compliance,
    acknowledge_no_dlq,
)
from serverless_patterns.constructs._runtime_asset import runtime_code
from serverless_patterns.constructs._validation import (
    check_prop_keys,
    check_range,
    known_above,
    reject_both,
)
from serverless_patterns.constructs.api_gateway_account import (
    ApiGatewayCloudWatchRole,
    depend_on_cloud_watch_role,
)

HOOK_HANDLER = "serverless_patterns.runtime.handlers.smoke_check_hook.handler"
#: CodeDeploy accepts at most 10 alarms per deployment group.
MAX_ROLLBACK_ALARMS = 10
#: Environment variables the hook reads (``serverless_patterns.runtime.api.smoke_checks``).
_CHECKS_ENV = "SMOKE_CHECKS"
_TARGET_ENV = "TARGET_FUNCTION_ARN"
_TIMEOUT_ENV = "SMOKE_CHECK_TIMEOUT_SECONDS"
#: Lambda allows 4 KB of environment per function; keep the checks well inside it.
_MAX_CHECKS_JSON = 3000
_MAX_CHECKS = 20
_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})


@dataclass(frozen=True)
class SmokeCheck:
    """One request a deployment hook sends to the new version, and the response it needs.

    The request is an API Gateway proxy event, so the function answers it as it would answer
    the API. Everything is JSON and travels in the hook's environment.

    :param path: the request path, for example ``"/health"``.
    :param method: the HTTP method. Default: - ``"GET"``.
    :param body: a JSON-serialisable request body. Default: - no body.
    :param headers: request headers. Default: - ``Content-Type: application/json`` only.
    :param query: query string parameters. Default: - none.
    :param expected_status: the status the response must have. Default: - 200.
    :param expected_body: a JSON subset the response body must contain (every key, nested,
        with an equal value). Default: - the body is not checked.
    :param name: the name in the hook's log. Default: - ``"<method> <path>"``.
    """

    path: str
    method: str = "GET"
    body: Any = None
    headers: Mapping[str, str] = field(default_factory=dict)
    query: Mapping[str, str] = field(default_factory=dict)
    expected_status: int = 200
    expected_body: Any = None
    name: str | None = None

    def to_json(self) -> dict[str, Any]:
        """The JSON object the hook reads."""
        spec: dict[str, Any] = {
            "name": self.name or f"{self.method.upper()} {self.path}",
            "method": self.method.upper(),
            "path": self.path,
            "expected_status": self.expected_status,
        }
        for key, value in (
            ("body", self.body),
            ("headers", dict(self.headers) or None),
            ("query", dict(self.query) or None),
            ("expected_body", self.expected_body),
        ):
            if value is not None:
                spec[key] = value
        return spec


@dataclass(frozen=True)
class CanaryApiAlarms:
    """Rollback alarm thresholds of a CanaryApi; set one to None to leave that alarm out.

    :param function_errors: errors of the new version per period (``Errors``, dimensions
        ``FunctionName``, ``Resource`` = function:alias, ``ExecutedVersion``). Default: - 1.
    :param function_duration_p99: p99 ``Duration`` of the new version, same dimensions.
        Default: - 3 seconds.
    :param api_5xx_rate_percent: share of API responses that are 5xx (``5XXError`` average of
        the stage), in percent. Default: - 1 %.
    :param api_latency_p99: p99 ``Latency`` of the stage. Default: - 3 seconds.
    :param period: the period each metric is evaluated over; one breaching period rolls back.
        Default: - 1 minute.
    """

    function_errors: int | None = 1
    function_duration_p99: Duration | None = field(default_factory=lambda: Duration.seconds(3))
    api_5xx_rate_percent: float | None = 1.0
    api_latency_p99: Duration | None = field(default_factory=lambda: Duration.seconds(3))
    period: Duration = field(default_factory=lambda: Duration.minutes(1))


class CanaryApi(Construct):
    """Defines a REST API whose function is released gradually and rolled back by alarms.

    By default it creates: a ``BaselineFunction`` with a version per code change and an alias
    ``live``; a REST API whose every method (IAM-authorized, request validator on) proxies to
    the alias with a 29 s timeout; a stage ``prod`` with JSON access logs kept one month,
    X-Ray tracing and throttling (100 requests/s, burst 200); a CodeDeploy deployment group
    on the alias shifting traffic canary 10 % for 5 minutes, rolling back on failure, on stop
    and on alarm; four rollback alarms (new version's errors and p99 duration, API 5xx rate
    and p99 latency); and a pre-traffic hook smoke-checking ``GET /health`` on the new version.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        code: lambda_.Code | None = None,
        handler: str | None = None,
        function: lambda_.Function | None = None,
        function_props: Mapping[str, Any] | None = None,
        alias_name: str = "live",
        provisioned_concurrency: int | None = None,
        traffic_shift: TrafficShift | None = None,
        smoke_checks: Sequence[SmokeCheck] | None = None,
        post_traffic_checks: Sequence[SmokeCheck] | None = None,
        smoke_check_timeout: Duration | None = None,
        alarms: CanaryApiAlarms | None = None,
        rollback_alarms: Sequence[cloudwatch.IAlarm] | None = None,
        alarm_action: cloudwatch.IAlarmAction | None = None,
        integration_timeout: Duration | None = None,
        stage_name: str = "prod",
        throttling_rate_limit: float = THROTTLING_RATE_LIMIT,
        throttling_burst_limit: int = THROTTLING_BURST_LIMIT,
        access_log_retention: logs.RetentionDays = _defaults.LOG_RETENTION,
        user_pool: cognito.IUserPool | None = None,
        usage_plans: Sequence[UsagePlanTier] | None = None,
        api_keys: Mapping[str, str] | None = None,
        rest_api_props: Mapping[str, Any] | None = None,
        cloud_watch_role: bool = True,
        encryption_key: kms.IKey | None = None,
        web_acl_arn: str | None = None,
    ) -> None:
        """
        :param code: code of a new function, for example ``runtime_code()``.
            Default: - none; required unless ``function`` is given.
        :param handler: handler of a new function. Default: - none; required with ``code``.
        :param function: an existing function defined in your app (a ``lambda_.Function``:
            its ``current_version`` is released; an imported function raises ValueError).
            Default: - a new ``BaselineFunction`` from ``code`` and ``handler``.
        :param function_props: ``aws_lambda.Function`` arguments overriding the
            ``BaselineFunction`` defaults. Default: - the baseline (30 s, 256 MB, arm64, ...).
        :param alias_name: the alias the API invokes and CodeDeploy shifts. Default: - ``live``.
        :param provisioned_concurrency: provisioned concurrent executions on the alias; at
            most the function's reserved concurrency, when it has one (Lambda guide,
            "Configuring provisioned concurrency for a function"). Default: - none (on-demand).
        :param traffic_shift: how traffic moves to a new version.
            Default: - ``TrafficShift.canary()``: 10 % for 5 minutes.
        :param smoke_checks: checks of the pre-traffic hook, run on the new version before it
            gets traffic; an empty list means no pre-traffic hook.
            Default: - one check: ``GET /health`` answers 200.
        :param post_traffic_checks: checks of a post-traffic hook, run after all traffic moved.
            Default: - no post-traffic hook.
        :param smoke_check_timeout: how long each check may take (1-300 s).
            Default: - 10 seconds.
        :param alarms: rollback alarm thresholds. Default: - ``CanaryApiAlarms()``.
        :param rollback_alarms: your own alarms that also roll a deployment back (with the
            generated ones at most 10). Default: - none.
        :param alarm_action: action for the generated alarms (ALARM and OK).
            Default: - alarms without actions (they still roll back).
        :param integration_timeout: API Gateway's integration timeout, 50 ms to 29 s.
            Default: - 29 seconds.
        :param stage_name: the deployment stage. Default: - ``prod``.
        :param throttling_rate_limit: stage steady-state requests per second.
            Default: - 100.
        :param throttling_burst_limit: stage burst. Default: - 200.
        :param access_log_retention: how long access logs are kept. Default: - one month.
        :param user_pool: authorize with this Cognito user pool instead of IAM.
            Default: - IAM (SigV4) authorization on every method.
        :param usage_plans: usage plan tiers; API keys become required on every method (keys
            are for throttling and quotas, not authentication); issue keys with ``api_keys``
            or ``add_api_key``. Default: - no usage plans, no API keys required.
        :param api_keys: API keys to issue, as ``{key construct id: tier name}``; each key's
            value is generated by API Gateway. Default: - none (see ``add_api_key``).
        :param rest_api_props: ``aws_apigateway.RestApi`` arguments for the API
            (for example ``rest_api_name``, ``description``). Default: - none.
        :param cloud_watch_role: make the stage, which writes access logs, depend on the app's
            account-level API Gateway CloudWatch Logs role (``ApiGatewayCloudWatchRole``).
            Default: - the app's single account-level role is created, once per app and
            environment; pass False if your account already has one (for example made by
            another app or by hand), and the stage will not depend on it.
        """
        super().__init__(scope, construct_id)
        reject_both(
            self, "function", function, function_props=function_props, code=code, handler=handler
        )
        if function is None and (code is None or handler is None):
            raise ValueError(
                f"{self.node.path}: pass 'code' and 'handler' for a new function, "
                "or an existing 'function'"
            )
        timeout = integration_timeout or Duration.seconds(29)
        timeout_ms = timeout.to_milliseconds()
        check_range(
            self,
            "integration_timeout (ms)",
            timeout_ms,
            MIN_INTEGRATION_TIMEOUT_MS,
            MAX_INTEGRATION_TIMEOUT_MS,
        )
        self._check_api_settings(
            provisioned_concurrency,
            throttling_rate_limit,
            throttling_burst_limit,
            usage_plans,
            rest_api_props,
        )
        self._check_api_keys(api_keys, usage_plans)
        self._check_function(function, provisioned_concurrency, function_props)
        shift = traffic_shift or TrafficShift.canary()
        check_traffic_shift(self, shift)
        check_timeout = smoke_check_timeout or Duration.seconds(10)
        check_range(self, "smoke_check_timeout (s)", check_timeout.to_seconds(), 1, 300)
        pre_checks = (
            list(smoke_checks) if smoke_checks is not None else [SmokeCheck(path="/health")]
        )
        post_checks = list(post_traffic_checks or [])
        pre_json = self._checks_json("smoke_checks", pre_checks)
        post_json = self._checks_json("post_traffic_checks", post_checks)
        thresholds = alarms or CanaryApiAlarms()
        user_alarms = list(rollback_alarms or [])
        generated = self._generated_alarm_count(thresholds)
        if generated + len(user_alarms) > MAX_ROLLBACK_ALARMS:
            raise ValueError(
                f"{self.node.path}: a deployment group takes at most {MAX_ROLLBACK_ALARMS} "
                f"alarms; got {len(user_alarms)} rollback_alarms plus {generated} generated"
            )

        #: The function behind the API.
        self.function: lambda_.Function = function_or_baseline(
            self,
            function,
            code=code,
            handler=handler,
            function_props=function_props,
            synchronous_reason="API Gateway invokes the function synchronously and returns its "
            "errors to the client; a function DLQ applies only to asynchronous invocations.",
            encryption_key=encryption_key,
        )
        #: The version of the current code; a code change creates a new one.
        self.version: lambda_.IVersion = self.function.current_version
        #: The alias the API invokes and CodeDeploy moves between versions.
        self.alias = lambda_.Alias(
            self,
            "Alias",
            alias_name=alias_name,
            version=self.version,
            provisioned_concurrent_executions=provisioned_concurrency,
        )

        self._stage_name = stage_name
        self._encryption_key = encryption_key
        #: The REST API (``api``) and the log group of its stage's access logs
        #: (``access_log_group``).
        self.api, self.access_log_group = pattern_api(
            self,
            stage_name=stage_name,
            access_log_retention=access_log_retention,
            encryption_key=encryption_key,
            throttling_rate_limit=throttling_rate_limit,
            throttling_burst_limit=throttling_burst_limit,
            # A name unique in the account by default: the API's metrics are keyed by it.
            **{"rest_api_name": Names.unique_id(self), **dict(rest_api_props or {})},
        )
        #: The authorizer; None with IAM authorization.
        self.authorizer: apigw.CognitoUserPoolsAuthorizer | None = (
            apigw.CognitoUserPoolsAuthorizer(self, "Authorizer", cognito_user_pools=[user_pool])
            if user_pool is not None
            else None
        )
        #: The validator attached to every method (parameters and bodies with a model).
        self.request_validator = validate_requests(self.api)
        #: The Lambda proxy integration every method uses (targets the alias).
        self.integration = apigw.LambdaIntegration(self.alias, proxy=True, timeout=timeout)
        #: The ``/{proxy+}`` resource: every path reaches the function's router.
        self.proxy = self.api.root.add_resource("{proxy+}")
        #: Every method of the API: ``ANY /`` and ``ANY /{proxy+}``.
        self.methods: list[apigw.Method] = self._add_methods(api_keys=bool(usage_plans))
        #: The stage's web ACL association; None without ``web_acl_arn``.
        self.web_acl_association = protect_stage(self.api.deployment_stage, web_acl_arn)
        #: The app's account-level CloudWatch Logs role the stage comes after; None with
        #: ``cloud_watch_role=False``.
        self.cloud_watch_role: ApiGatewayCloudWatchRole | None = depend_on_cloud_watch_role(
            self.api.deployment_stage, enabled=cloud_watch_role
        )
        #: Usage plans by tier name; empty without ``usage_plans``.
        self.usage_plans: dict[str, apigw.UsagePlan] = {}
        #: API keys issued by ``api_keys`` and ``add_api_key``, by construct id.
        self.api_keys: dict[str, apigw.IApiKey] = {}
        self._add_usage_plans(usage_plans or [], api_keys or {})

        #: The generated rollback alarms: errors, duration p99, API 5xx rate, API latency p99.
        self.alarms: list[cloudwatch.Alarm] = self._create_alarms(thresholds, alarm_action)
        #: Every alarm that rolls a deployment back (generated first, then yours).
        self.rollback_alarms: list[cloudwatch.IAlarm] = [*self.alarms, *user_alarms]
        #: The CodeDeploy deployment group shifting the alias.
        self.deployment_group = codedeploy.LambdaDeploymentGroup(
            self,
            "Deployment",
            alias=self.alias,
            deployment_config=deployment_config(self, "DeploymentConfig", shift),
            alarms=self.rollback_alarms,
            auto_rollback=codedeploy.AutoRollbackConfig(
                failed_deployment=True, stopped_deployment=True, deployment_in_alarm=True
            ),
        )
        self._acknowledge_deployment_role()
        #: The pre-traffic hook; None with ``smoke_checks=[]``.
        self.pre_traffic_hook: BaselineFunction | None = (
            self._hook("PreTrafficHook", pre_json, check_timeout) if pre_checks else None
        )
        #: The post-traffic hook; None without ``post_traffic_checks``.
        self.post_traffic_hook: BaselineFunction | None = (
            self._hook("PostTrafficHook", post_json, check_timeout) if post_checks else None
        )
        self._attach_hooks()
        if self.pre_traffic_hook is None:
            Annotations.of(self).add_warning_v2(
                "serverless-patterns:canaryApi:noPreTrafficHook",
                "smoke_checks is empty: a new version gets traffic without a smoke check, and "
                "only the rollback alarms can stop a broken release.",
            )

    @property
    def url(self) -> str:
        """The stage's URL."""
        return self.api.url

    def add_rollback_alarm(self, alarm: cloudwatch.IAlarm) -> None:
        """Adds an alarm that rolls deployments back (at most 10 in all)."""
        if len(self.rollback_alarms) >= MAX_ROLLBACK_ALARMS:
            raise ValueError(
                f"{self.node.path}: a deployment group takes at most {MAX_ROLLBACK_ALARMS} "
                f"alarms; it has {len(self.rollback_alarms)} already"
            )
        self.rollback_alarms.append(alarm)
        self.deployment_group.add_alarm(alarm)

    def add_api_key(self, key_id: str, *, tier: str) -> apigw.IApiKey:
        """Issues an API key in the usage plan of ``tier`` (a name from ``usage_plans``).

        API Gateway generates the key's value; the template never holds it. A client reads it
        in the API Gateway console (API keys) or with ``aws apigateway get-api-key --api-key
        <id> --include-value`` and sends it in the ``x-api-key`` header, next to its IAM or
        Cognito authorization ("Usage plans and API keys for REST APIs in API Gateway").

        :param key_id: the key's construct id, unique in this CanaryApi.
        :param tier: the name of the usage plan tier the key belongs to.
        """
        self._check_tier_name(f"add_api_key({key_id!r})", tier, self.usage_plans)
        keys = self.node.try_find_child("ApiKeys")
        key = apigw.ApiKey(
            keys if isinstance(keys, Construct) else Construct(self, "ApiKeys"),
            key_id,
            description=f"{tier} tier key of {self.node.path}",
            enabled=True,
        )
        self.usage_plans[tier].add_api_key(key)
        self.api_keys[key_id] = key
        return key

    def grant_invoke_api(self, grantee: iam.IGrantable) -> iam.Grant:
        """Grants ``execute-api:Invoke`` on every method of the stage (IAM authorization)."""
        return grant_invoke_stage(self.api, grantee)

    # --- metrics ----------------------------------------------------------------------------

    def metric_new_version(
        self, metric_name: str, *, statistic: str, period: Duration
    ) -> cloudwatch.Metric:
        """``AWS/Lambda`` ``metric_name`` of the new version invoked through the alias."""
        return cloudwatch.Metric(
            namespace="AWS/Lambda",
            metric_name=metric_name,
            dimensions_map={
                "FunctionName": self.function.function_name,
                "Resource": f"{self.function.function_name}:{self.alias.alias_name}",
                "ExecutedVersion": self.version.version,
            },
            statistic=statistic,
            period=period,
        )

    def metric_api(
        self, metric_name: str, *, statistic: str, period: Duration
    ) -> cloudwatch.Metric:
        """``AWS/ApiGateway`` ``metric_name`` of the stage (dimensions ``ApiName``, ``Stage``).

        The dimensions are the API's and stage's names as written, not references to the
        resources: the deployment group's alarms must not depend on the stage, which depends
        on the alias that the deployment group updates.
        """
        return stage_metric(
            self, self.api, self._stage_name, metric_name, statistic=statistic, period=period
        )

    # --- internals --------------------------------------------------------------------------

    def _attach_hooks(self) -> None:
        if self.pre_traffic_hook is not None:
            self.deployment_group.add_pre_hook(self.pre_traffic_hook)
        if self.post_traffic_hook is not None:
            self.deployment_group.add_post_hook(self.post_traffic_hook)
        for hook in (self.pre_traffic_hook, self.post_traffic_hook):
            if hook is not None:
                acknowledge(
                    self.deployment_group.role,
                    f"AwsSolutions-IAM5[Resource::<{self._arn_reference(hook)}>:*]",
                    "aws-cdk-lib's grant_invoke lets CodeDeploy invoke the hook function and "
                    "its versions (':*'); the wildcard covers this one hook function only.",
                )

    def _add_methods(self, *, api_keys: bool) -> list[apigw.Method]:
        options: dict[str, Any] = {
            "authorization_type": apigw.AuthorizationType.COGNITO
            if self.authorizer is not None
            else apigw.AuthorizationType.IAM,
            "authorizer": self.authorizer,
            "request_validator": self.request_validator,
            "api_key_required": api_keys,
        }
        methods = [
            self.api.root.add_method("ANY", self.integration, **options),
            self.proxy.add_method("ANY", self.integration, **options),
        ]
        if self.authorizer is None:
            for method in methods:
                acknowledge(
                    method,
                    "AwsSolutions-COG4",
                    "The method uses IAM (SigV4) authorization, the library default; pass "
                    "user_pool to authorize with a Cognito user pool instead.",
                )
        return methods

    def _add_usage_plans(self, tiers: Sequence[UsagePlanTier], api_keys: Mapping[str, str]) -> None:
        for tier in tiers:
            self.usage_plans[tier.name] = self._add_usage_plan(tier)
        for key_id, tier_name in api_keys.items():
            self.add_api_key(key_id, tier=tier_name)

    def _add_usage_plan(self, tier: UsagePlanTier) -> apigw.UsagePlan:
        return self.api.add_usage_plan(
            f"UsagePlan{tier.name}",
            description=f"{tier.name} tier",
            throttle=apigw.ThrottleSettings(
                rate_limit=tier.rate_limit, burst_limit=tier.burst_limit
            ),
            quota=apigw.QuotaSettings(limit=tier.quota_limit, period=tier.quota_period)
            if tier.quota_limit is not None
            else None,
            api_stages=[apigw.UsagePlanPerApiStage(api=self.api, stage=self.api.deployment_stage)],
        )

    def _check_api_settings(
        self,
        provisioned_concurrency: int | None,
        throttling_rate_limit: float,
        throttling_burst_limit: int,
        usage_plans: Sequence[UsagePlanTier] | None,
        rest_api_props: Mapping[str, Any] | None,
    ) -> None:
        check_range(self, "provisioned_concurrency", provisioned_concurrency, 1, 10_000)
        check_range(self, "throttling_rate_limit", throttling_rate_limit, 0, 10_000)
        check_range(self, "throttling_burst_limit", throttling_burst_limit, 0, 5_000)
        self._check_tiers(usage_plans)
        check_prop_keys(self.node.path, "rest_api_props", rest_api_props, apigw.RestApi)
        for key in ("deploy_options", "default_method_options", "cloud_watch_role", "deploy"):
            if key in (rest_api_props or {}):
                raise ValueError(
                    f"{self.node.path}: rest_api_props[{key!r}] is set by CanaryApi; use its "
                    "stage, throttling and authorizer arguments instead"
                )

    def _check_tier_name(self, where: str, tier: str, names: Iterable[str]) -> None:
        if tier not in names:
            raise ValueError(
                f"{self.node.path}: {where}: unknown usage plan tier {tier!r}; the tiers are "
                f"{sorted(names)} (from usage_plans)"
            )

    def _check_api_keys(
        self, api_keys: Mapping[str, str] | None, tiers: Sequence[UsagePlanTier] | None
    ) -> None:
        names = {tier.name for tier in tiers or []}
        for key_id, tier in (api_keys or {}).items():
            self._check_tier_name(f"api_keys[{key_id!r}]", tier, names)

    def _check_function(
        self,
        function: lambda_.Function | None,
        provisioned: int | None,
        function_props: Mapping[str, Any] | None,
    ) -> None:
        """Raises for an imported ``function`` (it has no ``current_version`` to publish) and
        for more provisioned concurrency than the function's reserved concurrency, which
        Lambda rejects at deploy time ("Configuring provisioned concurrency for a function":
        you can't allocate more provisioned concurrency than reserved concurrency)."""
        if function is not None and not isinstance(function, lambda_.Function):
            raise ValueError(
                f"{self.node.path}: 'function' must be a lambda_.Function defined in this app "
                f"(CanaryApi publishes versions of it and shifts an alias between them), got "
                f"{type(function).__name__} {function.node.path!r}; an imported function "
                "cannot be versioned here: pass 'code' and 'handler' instead"
            )
        reserved = (
            reserved_concurrency(function)
            if function is not None
            else (function_props or {}).get("reserved_concurrent_executions")
        )
        if known_above(provisioned, reserved):
            raise ValueError(
                f"{self.node.path}: provisioned_concurrency ({provisioned}) must be at most the "
                f"function's reserved concurrency ({reserved}, reserved_concurrent_executions); "
                "Lambda cannot allocate more provisioned than reserved concurrency"
            )

    def _checks_json(self, name: str, checks: Sequence[SmokeCheck]) -> str:
        if len(checks) > _MAX_CHECKS:
            raise ValueError(
                f"{self.node.path}: {name} takes at most {_MAX_CHECKS} checks, got {len(checks)}"
            )
        for check in checks:
            if not check.path.startswith("/"):
                raise ValueError(
                    f"{self.node.path}: {name} path must start with '/', got {check.path!r}"
                )
            if check.method.upper() not in _METHODS:
                raise ValueError(
                    f"{self.node.path}: {name} method must be an HTTP method, got {check.method!r}"
                )
            check_range(self, f"{name} expected_status", check.expected_status, 100, 599)
        try:
            text = json.dumps([check.to_json() for check in checks], separators=(",", ":"))
        except (TypeError, ValueError) as error:
            raise ValueError(
                f"{self.node.path}: {name} must be JSON-serialisable: {error}"
            ) from error
        if len(text) > _MAX_CHECKS_JSON:
            raise ValueError(
                f"{self.node.path}: {name} take {len(text)} characters as JSON; at most "
                f"{_MAX_CHECKS_JSON} fit in the hook's environment"
            )
        return text

    def _check_tiers(self, tiers: Sequence[UsagePlanTier] | None) -> None:
        names = [tier.name for tier in tiers or []]
        if len(set(names)) != len(names):
            raise ValueError(f"{self.node.path}: usage plan tier names must be unique, got {names}")
        for tier in tiers or []:
            check_range(self, f"usage plan {tier.name} rate_limit", tier.rate_limit, 0, 10_000)
            check_range(self, f"usage plan {tier.name} burst_limit", tier.burst_limit, 0, 5_000)
            if tier.quota_limit is not None:
                check_range(self, f"usage plan {tier.name} quota_limit", tier.quota_limit, 1, 2**31)

    @staticmethod
    def _generated_alarm_count(thresholds: CanaryApiAlarms) -> int:
        return sum(
            value is not None
            for value in (
                thresholds.function_errors,
                thresholds.function_duration_p99,
                thresholds.api_5xx_rate_percent,
                thresholds.api_latency_p99,
            )
        )

    def _create_alarms(
        self, thresholds: CanaryApiAlarms, action: cloudwatch.IAlarmAction | None
    ) -> list[cloudwatch.Alarm]:
        period = thresholds.period
        wanted: list[AlarmSpec] = [
            (
                "NewVersionErrors",
                self.metric_new_version("Errors", statistic="Sum", period=period),
                thresholds.function_errors,
                "The new function version raised errors: the deployment rolls back.",
            ),
            (
                "NewVersionDurationP99",
                self.metric_new_version("Duration", statistic="p99", period=period),
                thresholds.function_duration_p99.to_milliseconds()
                if thresholds.function_duration_p99 is not None
                else None,
                "p99 duration (ms) of the new function version is too high: the deployment "
                "rolls back.",
            ),
            (
                "Api5xxRate",
                error_rate(
                    self.metric_api("5XXError", statistic="Average", period=period),
                    label="5XX rate (%)",
                    period=period,
                ),
                thresholds.api_5xx_rate_percent,
                "Share (%) of API responses that are 5XX is too high: the deployment rolls back.",
            ),
            (
                "ApiLatencyP99",
                self.metric_api("Latency", statistic="p99", period=period),
                thresholds.api_latency_p99.to_milliseconds()
                if thresholds.api_latency_p99 is not None
                else None,
                "p99 API latency (ms) is too high: the deployment rolls back.",
            ),
        ]
        return threshold_alarms(self, wanted, action=action)

    def _acknowledge_deployment_role(self) -> None:
        """The deployment group role's findings: aws-cdk-lib's managed policy and inline
        policy."""
        acknowledge(
            self.deployment_group.role,
            "AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/"
            "AWSCodeDeployRoleForLambdaLimited]",
            "aws-cdk-lib attaches this AWS-managed policy to every Lambda deployment group "
            "role; it is the limited variant CodeDeploy documents for Lambda (update aliases, "
            "read alarms, invoke CodeDeployHook_* functions).",
        )
        acknowledge_compliance(
            self.deployment_group.role,
            "IAMNoInlinePolicy",
            "aws-cdk-lib writes the deployment group's grants (invoking its hook functions) "
            "as the inline policy of this role, which only this deployment group assumes.",
        )

    def _hook(
        self, construct_id: str, checks_json: str, check_timeout: Duration
    ) -> BaselineFunction:
        hook = BaselineFunction(
            self,
            construct_id,
            code=runtime_code(),
            handler=HOOK_HANDLER,
            encryption_key=self._encryption_key,
            function_props={
                "timeout": Duration.seconds(int(check_timeout.to_seconds()) + 30),
                "description": "CodeDeploy hook: smoke-checks the new version, reports once.",
                "environment": {
                    _CHECKS_ENV: checks_json,
                    _TARGET_ENV: self.version.function_arn,
                    _TIMEOUT_ENV: str(int(check_timeout.to_seconds())),
                },
            },
        )
        hook.add_to_role_policy(
            iam.PolicyStatement(
                actions=["lambda:InvokeFunction"],
                resources=[f"{self.function.function_arn}:*"],
            )
        )
        acknowledge(
            hook.role,  # type: ignore[arg-type]
            f"AwsSolutions-IAM5[Resource::<{self._arn_reference(self.function)}>:*]",
            "The hook invokes the version under test, whose number is known only at deploy "
            "time; ':*' is limited to this one function's versions and aliases.",
        )
        acknowledge_no_dlq(
            hook,
            "CodeDeploy invokes the hook and waits for its status report; a hook that cannot "
            "report fails the deployment at the hook timeout, which rolls it back.",
        )
        acknowledge(
            hook,
            "ServerlessPatterns-LambdaInvokesLambda",
            "The hook smoke-checks the version under test once per deployment, on purpose: "
            "invoking it directly is the check. It serves no request path, so no caller "
            "waits on the chain.",
        )
        return hook

    def _arn_reference(self, function: lambda_.IFunction) -> str:
        """How cdk-nag names ``function``'s ARN in a finding: ``LogicalId.Arn``."""
        resolved = Stack.of(self).resolve(function.function_arn)
        if isinstance(resolved, dict) and "Fn::GetAtt" in resolved:
            logical_id, attribute = resolved["Fn::GetAtt"]
            return f"{logical_id}.{attribute}"
        return str(resolved)
