"""CanaryApi: wiring, every default as a template assertion, every validation error."""

from __future__ import annotations

import json
from typing import Any

import pytest
from aws_cdk import CfnParameter, Duration, Stack
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cognito as cognito
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk.assertions import Annotations, Match, Template
from hypothesis import given, settings
from hypothesis import strategies as st

from serverless_patterns.constructs import (
    DEFAULT_USAGE_TIERS,
    BaselineFunction,
    CanaryApi,
    CanaryApiAlarms,
    SmokeCheck,
    TrafficShift,
    UsagePlanTier,
)
from tests.conftest import new_app
from tests.unit.templates import logical_id, only

CODE = lambda_.Code.from_inline("def handler(event, context):\n    return None\n")
HANDLER = "index.handler"


def canary(stack: Stack, **kwargs: Any) -> CanaryApi:
    if "function" not in kwargs:
        kwargs.setdefault("code", CODE)
        kwargs.setdefault("handler", HANDLER)
    return CanaryApi(stack, "Api", **kwargs)


def alarms_by_name(template: Template) -> dict[str, dict[str, Any]]:
    return {
        key: value["Properties"]
        for key, value in template.find_resources("AWS::CloudWatch::Alarm").items()
    }


def alarm(template: Template, fragment: str) -> dict[str, Any]:
    [props] = [p for key, p in alarms_by_name(template).items() if fragment in key]
    return props


def hook_environment(template: Template, hook_fragment: str) -> dict[str, Any]:
    [fn] = [
        r["Properties"]
        for key, r in template.find_resources("AWS::Lambda::Function").items()
        if hook_fragment in key
    ]
    variables: dict[str, Any] = fn["Environment"]["Variables"]
    return variables


# --- alias, versions and the deployment group ---------------------------------------------


def test_api_invokes_the_alias_of_the_current_version_not_latest(stack: Stack) -> None:
    api = canary(stack)
    template = Template.from_stack(stack)
    version_id = logical_id(stack, api.version)
    alias = only(template, "AWS::Lambda::Alias")
    assert alias["Properties"]["Name"] == "live"
    assert alias["Properties"]["FunctionVersion"] == {"Fn::GetAtt": [version_id, "Version"]}
    template.resource_count_is("AWS::Lambda::Version", 1)
    alias_id = logical_id(stack, api.alias)
    methods = template.find_resources("AWS::ApiGateway::Method")
    assert len(methods) == 2
    for method in methods.values():
        integration = method["Properties"]["Integration"]
        assert integration["Type"] == "AWS_PROXY"
        uri = json.dumps(integration["Uri"])
        assert alias_id in uri and "$LATEST" not in uri


def test_a_code_change_creates_a_new_version(stack: Stack) -> None:
    other = Stack(new_app(), "Other")
    first = canary(stack)
    second = CanaryApi(
        other,
        "Api",
        code=lambda_.Code.from_inline("def handler(event, context):\n    return 1\n"),
        handler=HANDLER,
    )
    assert logical_id(stack, first.version) != logical_id(other, second.version)


def test_deployment_group_shifts_the_alias_and_rolls_back_on_failure_stop_and_alarm(
    stack: Stack,
) -> None:
    api = canary(stack)
    template = Template.from_stack(stack)
    group = only(template, "AWS::CodeDeploy::DeploymentGroup")["Properties"]
    assert group["DeploymentConfigName"] == "CodeDeployDefault.LambdaCanary10Percent5Minutes"
    assert group["DeploymentStyle"] == {
        "DeploymentOption": "WITH_TRAFFIC_CONTROL",
        "DeploymentType": "BLUE_GREEN",
    }
    assert group["AutoRollbackConfiguration"] == {
        "Enabled": True,
        "Events": ["DEPLOYMENT_FAILURE", "DEPLOYMENT_STOP_ON_REQUEST", "DEPLOYMENT_STOP_ON_ALARM"],
    }
    assert group["AlarmConfiguration"]["Enabled"] is True
    assert len(group["AlarmConfiguration"]["Alarms"]) == 4
    alias = template.find_resources("AWS::Lambda::Alias")
    [update] = [a["UpdatePolicy"]["CodeDeployLambdaAliasUpdate"] for a in alias.values()]
    assert update["DeploymentGroupName"] == {"Ref": logical_id(stack, api.deployment_group)}
    assert update["BeforeAllowTrafficHook"] == {"Ref": logical_id(stack, api.pre_traffic_hook)}
    assert "AfterAllowTrafficHook" not in update


PRESETS = [
    (TrafficShift.canary(), "CodeDeployDefault.LambdaCanary10Percent5Minutes"),
    (
        TrafficShift.canary(interval=Duration.minutes(30)),
        "CodeDeployDefault.LambdaCanary10Percent30Minutes",
    ),
    (TrafficShift.linear(), "CodeDeployDefault.LambdaLinear10PercentEvery1Minute"),
    (
        TrafficShift.linear(interval=Duration.minutes(10)),
        "CodeDeployDefault.LambdaLinear10PercentEvery10Minutes",
    ),
    (TrafficShift.all_at_once(), "CodeDeployDefault.LambdaAllAtOnce"),
]


@pytest.mark.parametrize(
    ("shift", "config_name"),
    PRESETS,
    ids=["canary", "canary-30", "linear", "linear-10", "all-at-once"],
)
def test_each_preset_uses_the_predefined_configuration(
    stack: Stack, shift: TrafficShift, config_name: str
) -> None:
    canary(stack, traffic_shift=shift)
    template = Template.from_stack(stack)
    template.resource_count_is("AWS::CodeDeploy::DeploymentConfig", 0)
    group = only(template, "AWS::CodeDeploy::DeploymentGroup")["Properties"]
    assert group["DeploymentConfigName"] == config_name


@pytest.mark.parametrize(
    ("shift", "routing"),
    [
        (
            TrafficShift.canary(25, Duration.minutes(15)),
            {
                "Type": "TimeBasedCanary",
                "TimeBasedCanary": {"CanaryInterval": 15, "CanaryPercentage": 25},
            },
        ),
        (
            TrafficShift.linear(20, Duration.minutes(4)),
            {
                "Type": "TimeBasedLinear",
                "TimeBasedLinear": {"LinearInterval": 4, "LinearPercentage": 20},
            },
        ),
    ],
    ids=["canary-25-15", "linear-20-4"],
)
def test_custom_shift_defines_its_own_configuration(
    stack: Stack, shift: TrafficShift, routing: dict[str, Any]
) -> None:
    api = canary(stack, traffic_shift=shift)
    template = Template.from_stack(stack)
    config = only(template, "AWS::CodeDeploy::DeploymentConfig")["Properties"]
    assert config["ComputePlatform"] == "Lambda"
    assert config["TrafficRoutingConfig"] == routing
    group = only(template, "AWS::CodeDeploy::DeploymentGroup")["Properties"]
    assert group["DeploymentConfigName"] == {
        "Ref": logical_id(stack, api.node.find_child("DeploymentConfig"))
    }


def test_provisioned_concurrency_is_set_on_the_alias(stack: Stack) -> None:
    canary(stack, provisioned_concurrency=5)
    alias = only(Template.from_stack(stack), "AWS::Lambda::Alias")["Properties"]
    assert alias["ProvisionedConcurrencyConfig"] == {"ProvisionedConcurrentExecutions": 5}


def test_no_provisioned_concurrency_by_default(stack: Stack) -> None:
    canary(stack)
    alias = only(Template.from_stack(stack), "AWS::Lambda::Alias")["Properties"]
    assert "ProvisionedConcurrencyConfig" not in alias


def test_existing_function_is_released_through_its_current_version(stack: Stack) -> None:
    function = BaselineFunction(stack, "Mine", code=CODE, handler=HANDLER)
    api = canary(stack, function=function)
    assert api.function is function
    template = Template.from_stack(stack)
    alias = only(template, "AWS::Lambda::Alias")["Properties"]
    assert alias["FunctionName"] == {"Ref": logical_id(stack, function)}


# --- rollback alarms --------------------------------------------------------------------------


def test_function_alarms_watch_the_new_version_through_the_alias(stack: Stack) -> None:
    api = canary(stack)
    template = Template.from_stack(stack)
    function_id = logical_id(stack, api.function)
    version_id = logical_id(stack, api.version)
    dimensions = [
        {"Name": "ExecutedVersion", "Value": {"Fn::GetAtt": [version_id, "Version"]}},
        {"Name": "FunctionName", "Value": {"Ref": function_id}},
        {
            "Name": "Resource",
            "Value": {"Fn::Join": ["", [{"Ref": function_id}, ":live"]]},
        },
    ]
    errors = alarm(template, "NewVersionErrors")
    assert errors["Namespace"] == "AWS/Lambda" and errors["MetricName"] == "Errors"
    assert errors["Statistic"] == "Sum" and errors["Threshold"] == 1
    assert sorted(errors["Dimensions"], key=lambda d: d["Name"]) == dimensions
    duration = alarm(template, "NewVersionDurationP99")
    assert duration["MetricName"] == "Duration" and duration["ExtendedStatistic"] == "p99"
    assert duration["Threshold"] == 3000
    assert sorted(duration["Dimensions"], key=lambda d: d["Name"]) == dimensions
    for props in (errors, duration):
        assert props["Period"] == 60
        assert props["ComparisonOperator"] == "GreaterThanOrEqualToThreshold"
        assert props["TreatMissingData"] == "notBreaching"


def test_api_alarms_watch_the_stage_5xx_rate_and_p99_latency(stack: Stack) -> None:
    api = canary(stack)
    template = Template.from_stack(stack)
    name = api.api.rest_api_name
    dimensions = [{"Name": "ApiName", "Value": name}, {"Name": "Stage", "Value": "prod"}]
    rate = alarm(template, "Api5xxRate")
    assert rate["Threshold"] == 1
    [expression, errors] = rate["Metrics"]
    assert expression["Expression"] == "errors * 100"
    stat = errors["MetricStat"]
    assert stat["Metric"] == {
        "Dimensions": dimensions,
        "MetricName": "5XXError",
        "Namespace": "AWS/ApiGateway",
    }
    assert stat["Stat"] == "Average" and stat["Period"] == 60
    latency = alarm(template, "ApiLatencyP99")
    assert latency["MetricName"] == "Latency" and latency["ExtendedStatistic"] == "p99"
    assert latency["Dimensions"] == dimensions and latency["Threshold"] == 3000


def test_every_generated_alarm_rolls_back_the_deployment(stack: Stack) -> None:
    api = canary(stack)
    template = Template.from_stack(stack)
    group = only(template, "AWS::CodeDeploy::DeploymentGroup")["Properties"]
    assert group["AlarmConfiguration"]["Alarms"] == [
        {"Name": {"Ref": logical_id(stack, a)}} for a in api.alarms
    ]
    assert not any("AlarmActions" in p for p in alarms_by_name(template).values())


def test_thresholds_are_configurable_and_none_leaves_an_alarm_out(stack: Stack) -> None:
    api = canary(
        stack,
        alarms=CanaryApiAlarms(
            function_errors=5,
            function_duration_p99=Duration.millis(800),
            api_5xx_rate_percent=None,
            api_latency_p99=Duration.seconds(2),
            period=Duration.minutes(2),
        ),
    )
    template = Template.from_stack(stack)
    assert len(api.alarms) == 3
    assert alarm(template, "NewVersionErrors")["Threshold"] == 5
    assert alarm(template, "NewVersionDurationP99")["Threshold"] == 800
    assert alarm(template, "ApiLatencyP99")["Threshold"] == 2000
    assert alarm(template, "ApiLatencyP99")["Period"] == 120
    assert not [k for k in alarms_by_name(template) if "Api5xxRate" in k]


def test_user_alarms_roll_back_too(stack: Stack) -> None:
    mine = cloudwatch.Alarm.from_alarm_name(stack, "Mine", "orders-backlog")
    api = canary(stack, rollback_alarms=[mine])
    extra = cloudwatch.Alarm.from_alarm_name(stack, "Extra", "payments-errors")
    api.add_rollback_alarm(extra)
    group = only(Template.from_stack(stack), "AWS::CodeDeploy::DeploymentGroup")["Properties"]
    names = group["AlarmConfiguration"]["Alarms"]
    assert names[-2:] == [{"Name": "orders-backlog"}, {"Name": "payments-errors"}]
    assert len(names) == 6


def test_alarm_action_runs_on_alarm_and_ok(stack: Stack) -> None:
    from aws_cdk import aws_cloudwatch_actions as cw_actions
    from aws_cdk import aws_sns as sns

    topic = sns.Topic(stack, "Ops")
    canary(stack, alarm_action=cw_actions.SnsAction(topic))
    for props in alarms_by_name(Template.from_stack(stack)).values():
        assert props["AlarmActions"] == [{"Ref": logical_id(stack, topic)}]
        assert props["OKActions"] == [{"Ref": logical_id(stack, topic)}]


# --- hooks ------------------------------------------------------------------------------------


def test_pre_traffic_hook_checks_health_of_the_new_version_by_default(stack: Stack) -> None:
    api = canary(stack)
    template = Template.from_stack(stack)
    env = hook_environment(template, "PreTrafficHook")
    assert json.loads(env["SMOKE_CHECKS"]) == [
        {"name": "GET /health", "method": "GET", "path": "/health", "expected_status": 200}
    ]
    assert env["TARGET_FUNCTION_ARN"] == {"Ref": logical_id(stack, api.version)}
    assert env["SMOKE_CHECK_TIMEOUT_SECONDS"] == "10"
    assert api.post_traffic_hook is None


def test_smoke_checks_are_serialised_for_the_hook(stack: Stack) -> None:
    canary(
        stack,
        smoke_checks=[
            SmokeCheck(
                path="/orders",
                method="post",
                body={"order_id": "o-1", "quantity": 1},
                headers={"X-Tenant": "smoke"},
                query={"dry_run": "1"},
                expected_status=201,
                expected_body={"status": "accepted"},
                name="create order",
            )
        ],
        post_traffic_checks=[SmokeCheck(path="/health")],
        smoke_check_timeout=Duration.seconds(20),
    )
    template = Template.from_stack(stack)
    pre = hook_environment(template, "PreTrafficHook")
    assert json.loads(pre["SMOKE_CHECKS"]) == [
        {
            "name": "create order",
            "method": "POST",
            "path": "/orders",
            "expected_status": 201,
            "body": {"order_id": "o-1", "quantity": 1},
            "headers": {"X-Tenant": "smoke"},
            "query": {"dry_run": "1"},
            "expected_body": {"status": "accepted"},
        }
    ]
    assert pre["SMOKE_CHECK_TIMEOUT_SECONDS"] == "20"
    post = hook_environment(template, "PostTrafficHook")
    assert json.loads(post["SMOKE_CHECKS"])[0]["path"] == "/health"
    [update] = [
        a["UpdatePolicy"]["CodeDeployLambdaAliasUpdate"]
        for a in template.find_resources("AWS::Lambda::Alias").values()
    ]
    assert "AfterAllowTrafficHook" in update
    [fn] = [
        r["Properties"]
        for k, r in template.find_resources("AWS::Lambda::Function").items()
        if "PreTrafficHook" in k
    ]
    assert fn["Timeout"] == 50


def test_no_smoke_checks_means_no_pre_traffic_hook_and_a_warning(stack: Stack) -> None:
    api = canary(stack, smoke_checks=[])
    assert api.pre_traffic_hook is None
    template = Template.from_stack(stack)
    template.resource_count_is("AWS::Lambda::Function", 1)
    Annotations.from_stack(stack).has_warning(
        "/Test/Api", Match.string_like_regexp("smoke_checks is empty.*canaryApi:noPreTrafficHook")
    )


def test_default_has_no_warnings(stack: Stack) -> None:
    canary(stack)
    assert Annotations.from_stack(stack).find_warning("*", Match.any_value()) == []


def hook_statements(template: Template, fragment: str) -> list[dict[str, Any]]:
    [policy] = [
        p["Properties"]["PolicyDocument"]["Statement"]
        for k, p in template.find_resources("AWS::IAM::Policy").items()
        if fragment in k
    ]
    statements: list[dict[str, Any]] = policy
    return statements


def test_hook_may_invoke_only_this_functions_versions_and_report_to_this_group(
    stack: Stack,
) -> None:
    api = canary(stack)
    template = Template.from_stack(stack)
    statements = hook_statements(template, "PreTrafficHookServiceRoleDefaultPolicy")
    by_action = {json.dumps(s["Action"]): s for s in statements}
    invoke = by_action['"lambda:InvokeFunction"']
    assert invoke["Resource"] == {
        "Fn::Join": ["", [{"Fn::GetAtt": [logical_id(stack, api.function), "Arn"]}, ":*"]]
    }
    report = by_action['"codedeploy:PutLifecycleEventHookExecutionStatus"']
    resource = json.dumps(report["Resource"])
    assert ":deploymentgroup:" in resource
    assert logical_id(stack, api.deployment_group) in resource
    for statement in statements:
        actions = (
            statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
        )
        assert not any(a.endswith("*") for a in actions)
        if statement["Resource"] == "*":
            assert set(actions) == {"xray:PutTelemetryRecords", "xray:PutTraceSegments"}


# --- API hygiene ------------------------------------------------------------------------------


def test_stage_has_json_access_logs_with_retention_tracing_and_throttling(stack: Stack) -> None:
    api = canary(stack)
    template = Template.from_stack(stack)
    stage = only(template, "AWS::ApiGateway::Stage")["Properties"]
    assert stage["StageName"] == "prod"
    assert stage["TracingEnabled"] is True
    [settings] = stage["MethodSettings"]
    assert settings["ThrottlingRateLimit"] == 100
    assert settings["ThrottlingBurstLimit"] == 200
    assert settings["DataTraceEnabled"] is False
    log_format = stage["AccessLogSetting"]["Format"]
    fields = json.loads(log_format)
    assert {"requestId", "status", "responseLatency", "integrationLatency"} <= set(fields)
    assert logical_id(stack, api.access_log_group) in json.dumps(
        stage["AccessLogSetting"]["DestinationArn"]
    )
    log_group = template.find_resources("AWS::Logs::LogGroup")[
        logical_id(stack, api.access_log_group)
    ]
    assert log_group["Properties"]["RetentionInDays"] == 30


def test_throttling_and_retention_are_configurable(stack: Stack) -> None:
    api = canary(
        stack,
        throttling_rate_limit=50,
        throttling_burst_limit=75,
        access_log_retention=logs.RetentionDays.ONE_YEAR,
        stage_name="live",
        integration_timeout=Duration.seconds(5),
    )
    template = Template.from_stack(stack)
    stage = only(template, "AWS::ApiGateway::Stage")["Properties"]
    assert stage["StageName"] == "live"
    assert stage["MethodSettings"][0]["ThrottlingRateLimit"] == 50
    assert stage["MethodSettings"][0]["ThrottlingBurstLimit"] == 75
    log_group = template.find_resources("AWS::Logs::LogGroup")[
        logical_id(stack, api.access_log_group)
    ]
    assert log_group["Properties"]["RetentionInDays"] == 365
    for method in template.find_resources("AWS::ApiGateway::Method").values():
        assert method["Properties"]["Integration"]["TimeoutInMillis"] == 5000


def test_methods_use_iam_authorization_and_request_validation_by_default(stack: Stack) -> None:
    api = canary(stack)
    template = Template.from_stack(stack)
    validator = only(template, "AWS::ApiGateway::RequestValidator")["Properties"]
    assert validator["ValidateRequestBody"] is True
    assert validator["ValidateRequestParameters"] is True
    for method in template.find_resources("AWS::ApiGateway::Method").values():
        props = method["Properties"]
        assert props["AuthorizationType"] == "AWS_IAM"
        assert props["RequestValidatorId"] == {"Ref": logical_id(stack, api.request_validator)}
        assert props["Integration"]["TimeoutInMillis"] == 29000
        assert props.get("ApiKeyRequired", False) is False
    template.resource_count_is("AWS::ApiGateway::UsagePlan", 0)
    template.resource_count_is("AWS::ApiGateway::ApiKey", 0)


def test_cognito_user_pool_authorizes_instead_of_iam(stack: Stack) -> None:
    pool = cognito.UserPool(stack, "Users")
    api = canary(stack, user_pool=pool)
    template = Template.from_stack(stack)
    authorizer = only(template, "AWS::ApiGateway::Authorizer")["Properties"]
    assert authorizer["Type"] == "COGNITO_USER_POOLS"
    for method in template.find_resources("AWS::ApiGateway::Method").values():
        assert method["Properties"]["AuthorizationType"] == "COGNITO_USER_POOLS"
        assert method["Properties"]["AuthorizerId"] == {"Ref": logical_id(stack, api.authorizer)}


def test_usage_plan_tiers_require_api_keys(stack: Stack) -> None:
    api = canary(stack, usage_plans=DEFAULT_USAGE_TIERS)
    template = Template.from_stack(stack)
    assert sorted(api.usage_plans) == ["Basic", "Free", "Premium"]
    plans = template.find_resources("AWS::ApiGateway::UsagePlan")
    assert len(plans) == 3
    free = plans[logical_id(stack, api.usage_plans["Free"])]["Properties"]
    assert free["Throttle"] == {"RateLimit": 5, "BurstLimit": 10}
    assert free["Quota"] == {"Limit": 10000, "Period": "MONTH"}
    premium = plans[logical_id(stack, api.usage_plans["Premium"])]["Properties"]
    assert "Quota" not in premium
    assert premium["ApiStages"][0]["Stage"] == {"Ref": logical_id(stack, api.api.deployment_stage)}
    for method in template.find_resources("AWS::ApiGateway::Method").values():
        assert method["Properties"]["ApiKeyRequired"] is True
        assert method["Properties"]["AuthorizationType"] == "AWS_IAM"  # keys are not auth


def test_grant_invoke_api_names_the_stage(stack: Stack) -> None:
    from aws_cdk import aws_iam as iam

    api = canary(stack)
    role = iam.Role(stack, "Caller", assumed_by=iam.AccountRootPrincipal())
    api.grant_invoke_api(role)
    Template.from_stack(stack).has_resource_properties(
        "AWS::IAM::Policy",
        {"PolicyDocument": {"Statement": [Match.object_like({"Action": "execute-api:Invoke"})]}},
    )


# --- validation -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "timeout",
    [Duration.millis(49), Duration.seconds(30), Duration.minutes(1)],
    ids=["49ms", "30s", "1min"],
)
def test_fails_on_integration_timeout_outside_50ms_to_29s(stack: Stack, timeout: Duration) -> None:
    with pytest.raises(
        ValueError, match=r"Test/Api: integration_timeout \(ms\) must be between 50"
    ):
        canary(stack, integration_timeout=timeout)


@pytest.mark.parametrize(
    "timeout", [Duration.millis(50), Duration.seconds(29)], ids=["50ms", "29s"]
)
def test_integration_timeout_bounds_are_allowed(stack: Stack, timeout: Duration) -> None:
    canary(stack, integration_timeout=timeout)


def test_fails_on_more_than_10_alarms(stack: Stack) -> None:
    mine = [cloudwatch.Alarm.from_alarm_name(stack, f"A{i}", f"alarm-{i}") for i in range(7)]
    with pytest.raises(ValueError, match=r"at most 10 alarms; got 7 rollback_alarms plus 4"):
        canary(stack, rollback_alarms=mine)


def test_fails_when_add_rollback_alarm_exceeds_10(stack: Stack) -> None:
    mine = [cloudwatch.Alarm.from_alarm_name(stack, f"A{i}", f"alarm-{i}") for i in range(6)]
    api = canary(stack, rollback_alarms=mine)
    extra = cloudwatch.Alarm.from_alarm_name(stack, "Extra", "extra")
    with pytest.raises(ValueError, match=r"at most 10 alarms; it has 10 already"):
        api.add_rollback_alarm(extra)


def test_ten_alarms_are_allowed_when_generated_ones_are_left_out(stack: Stack) -> None:
    mine = [cloudwatch.Alarm.from_alarm_name(stack, f"A{i}", f"alarm-{i}") for i in range(10)]
    api = canary(
        stack,
        rollback_alarms=mine,
        alarms=CanaryApiAlarms(
            function_errors=None,
            function_duration_p99=None,
            api_5xx_rate_percent=None,
            api_latency_p99=None,
        ),
    )
    assert len(api.rollback_alarms) == 10


def test_fails_on_function_and_function_props(stack: Stack) -> None:
    function = BaselineFunction(stack, "Mine", code=CODE, handler=HANDLER)
    with pytest.raises(ValueError, match=r"Test/Api: pass either 'function'.*'function_props'"):
        CanaryApi(stack, "Api", function=function, function_props={"memory_size": 512})


def test_fails_on_function_and_code(stack: Stack) -> None:
    function = BaselineFunction(stack, "Mine", code=CODE, handler=HANDLER)
    with pytest.raises(ValueError, match=r"pass either 'function'.*'code'"):
        CanaryApi(stack, "Api", function=function, code=CODE)


def test_fails_without_code_or_function(stack: Stack) -> None:
    with pytest.raises(ValueError, match=r"pass 'code' and 'handler'"):
        CanaryApi(stack, "Api")


@pytest.mark.parametrize(
    ("shift", "message"),
    [
        (TrafficShift.canary(0), r"canary percentage must be between 1 and 99, got 0"),
        (TrafficShift.linear(100), r"linear percentage must be between 1 and 99, got 100"),
        (
            TrafficShift.canary(10, Duration.seconds(90)),
            r"canary interval must be whole minutes between 1 and 2880, got 90",
        ),
        (
            TrafficShift.linear(10, Duration.days(3)),
            r"linear interval must be whole minutes between 1 and 2880, got 259200",
        ),
    ],
    ids=["canary-0", "linear-100", "90-seconds", "3-days"],
)
def test_fails_on_bad_traffic_shift(stack: Stack, shift: TrafficShift, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        canary(stack, traffic_shift=shift)


@pytest.mark.parametrize(
    ("check", "message"),
    [
        (SmokeCheck(path="health"), r"path must start with '/', got 'health'"),
        (SmokeCheck(path="/", method="FETCH"), r"method must be an HTTP method, got 'FETCH'"),
        (SmokeCheck(path="/", expected_status=42), r"expected_status must be between 100 and 599"),
        (SmokeCheck(path="/", body={1, 2}), r"must be JSON-serialisable"),
        (SmokeCheck(path="/", body="x" * 4000), r"at most 3000 fit"),
    ],
    ids=["path", "method", "status", "not-json", "too-large"],
)
def test_fails_on_bad_smoke_check(stack: Stack, check: SmokeCheck, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        canary(stack, smoke_checks=[check])


def test_fails_on_bad_smoke_check_timeout(stack: Stack) -> None:
    with pytest.raises(ValueError, match=r"smoke_check_timeout \(s\) must be between 1 and 300"):
        canary(stack, smoke_check_timeout=Duration.minutes(10))


def test_fails_on_bad_provisioned_concurrency(stack: Stack) -> None:
    with pytest.raises(ValueError, match=r"provisioned_concurrency must be between 1 and"):
        canary(stack, provisioned_concurrency=0)


def test_fails_on_duplicate_usage_plan_tiers(stack: Stack) -> None:
    tier = UsagePlanTier("Free", rate_limit=1, burst_limit=1)
    with pytest.raises(ValueError, match=r"tier names must be unique"):
        canary(stack, usage_plans=[tier, tier])


def test_fails_on_rest_api_props_the_pattern_sets(stack: Stack) -> None:
    with pytest.raises(ValueError, match=r"rest_api_props\['deploy_options'\] is set by"):
        canary(stack, rest_api_props={"deploy_options": None})


# --- API keys per usage plan tier ("Usage plans and API keys for REST APIs in API Gateway") ---


def usage_plan_keys(template: Template) -> dict[str, str]:
    """``{ApiKey logical id: UsagePlan logical id}`` of every AWS::ApiGateway::UsagePlanKey."""
    return {
        key["Properties"]["KeyId"]["Ref"]: key["Properties"]["UsagePlanId"]["Ref"]
        for key in template.find_resources("AWS::ApiGateway::UsagePlanKey").values()
        if key["Properties"]["KeyType"] == "API_KEY"
    }


def test_add_api_key_issues_a_generated_key_in_the_tiers_plan(stack: Stack) -> None:
    api = canary(stack, usage_plans=DEFAULT_USAGE_TIERS)
    key = api.add_api_key("Partner", tier="Basic")
    template = Template.from_stack(stack)
    assert api.api_keys == {"Partner": key}
    props = only(template, "AWS::ApiGateway::ApiKey")["Properties"]
    assert "Value" not in props  # API Gateway generates the value; the template never holds it
    assert props["Enabled"] is True
    assert "StageKeys" not in props  # a key reaches the API through its usage plan only
    assert usage_plan_keys(template) == {
        logical_id(stack, key): logical_id(stack, api.usage_plans["Basic"])
    }


def test_api_keys_prop_issues_one_key_per_entry_in_its_plan(stack: Stack) -> None:
    api = canary(
        stack,
        usage_plans=DEFAULT_USAGE_TIERS,
        api_keys={"FreeClient": "Free", "PremiumA": "Premium", "PremiumB": "Premium"},
    )
    template = Template.from_stack(stack)
    template.resource_count_is("AWS::ApiGateway::ApiKey", 3)
    plan = {name: logical_id(stack, p) for name, p in api.usage_plans.items()}
    assert usage_plan_keys(template) == {
        logical_id(stack, api.api_keys["FreeClient"]): plan["Free"],
        logical_id(stack, api.api_keys["PremiumA"]): plan["Premium"],
        logical_id(stack, api.api_keys["PremiumB"]): plan["Premium"],
    }


def test_fails_on_an_unknown_tier_in_add_api_key(stack: Stack) -> None:
    api = canary(stack, usage_plans=DEFAULT_USAGE_TIERS)
    with pytest.raises(
        ValueError,
        match=r"^Test/Api: add_api_key\('K'\): unknown usage plan tier 'Gold'; the tiers are "
        r"\['Basic', 'Free', 'Premium'\]",
    ):
        api.add_api_key("K", tier="Gold")


def test_fails_on_an_unknown_tier_in_api_keys_before_any_resource(stack: Stack) -> None:
    with pytest.raises(
        ValueError, match=r"^Test/Api: api_keys\['K'\]: unknown usage plan tier 'basic'"
    ):
        canary(stack, usage_plans=DEFAULT_USAGE_TIERS, api_keys={"K": "basic"})
    assert stack.node.find_child("Api").node.children == []


def test_fails_on_api_keys_without_usage_plans(stack: Stack) -> None:
    with pytest.raises(ValueError, match=r"unknown usage plan tier 'Free'; the tiers are \[\]"):
        canary(stack, api_keys={"K": "Free"})


# --- what Lambda would reject at deploy time ---------------------------------------------------


def test_fails_on_an_imported_function_naming_the_path_not_with_attribute_error(
    stack: Stack,
) -> None:
    imported = lambda_.Function.from_function_arn(
        stack, "Imported", "arn:aws:lambda:eu-west-1:123456789012:function:orders"
    )
    with pytest.raises(
        ValueError,
        match=r"^Test/Api: 'function' must be a lambda_\.Function defined in this app "
        r"\(CanaryApi publishes versions of it.*'Test/Imported'",
    ):
        canary(stack, function=imported)


def test_fails_on_provisioned_above_reserved_concurrency(stack: Stack) -> None:
    """Lambda guide, "Configuring provisioned concurrency for a function": you can't allocate
    more provisioned concurrency than reserved concurrency for a function."""
    with pytest.raises(
        ValueError,
        match=r"^Test/Api: provisioned_concurrency \(6\) must be at most the function's reserved "
        r"concurrency \(5, reserved_concurrent_executions\)",
    ):
        canary(
            stack, provisioned_concurrency=6, function_props={"reserved_concurrent_executions": 5}
        )


def test_provisioned_above_reserved_concurrency_of_an_existing_function_fails(stack: Stack) -> None:
    function = BaselineFunction(
        stack,
        "Existing",
        code=CODE,
        handler=HANDLER,
        function_props={"reserved_concurrent_executions": 2},
    )
    with pytest.raises(
        ValueError, match=r"provisioned_concurrency \(3\).*reserved concurrency \(2"
    ):
        canary(stack, function=function, provisioned_concurrency=3)


def test_provisioned_concurrency_check_lets_tokens_pass(stack: Stack) -> None:
    canary(
        stack,
        provisioned_concurrency=50,
        function_props={
            "reserved_concurrent_executions": CfnParameter(
                stack, "Reserved", type="Number"
            ).value_as_number
        },
    )
    alias = only(Template.from_stack(stack), "AWS::Lambda::Alias")["Properties"]
    assert alias["ProvisionedConcurrencyConfig"] == {"ProvisionedConcurrentExecutions": 50}


@settings(max_examples=25, deadline=None)
@given(provisioned=st.integers(1, 1000), reserved=st.integers(0, 1000))
def test_provisioned_concurrency_boundary(provisioned: int, reserved: int) -> None:
    stack = Stack(new_app(), "Test")
    props = {"reserved_concurrent_executions": reserved}
    if provisioned > reserved:
        with pytest.raises(ValueError, match=rf"\({provisioned}\).*\({reserved},"):
            canary(stack, provisioned_concurrency=provisioned, function_props=props)
    else:
        api = canary(stack, provisioned_concurrency=provisioned, function_props=props)
        assert api.alias.node.default_child is not None


def test_api_alarms_watch_the_ascii_name_api_gateway_publishes(stack: Stack) -> None:
    """ "Amazon API Gateway dimensions and metrics": non-ASCII characters are removed from the
    ApiName dimension before metrics are sent."""
    canary(stack, rest_api_props={"rest_api_name": "Bestellungen-Ü-API"})
    alarms = Template.from_stack(stack).find_resources("AWS::CloudWatch::Alarm")
    api_names = {
        dimension["Value"]
        for alarm in alarms.values()
        for stat in alarm["Properties"].get("Metrics", [])
        if "MetricStat" in stat
        for dimension in stat["MetricStat"]["Metric"].get("Dimensions", [])
        if dimension["Name"] == "ApiName"
    } | {
        dimension["Value"]
        for alarm in alarms.values()
        for dimension in alarm["Properties"].get("Dimensions", [])
        if dimension["Name"] == "ApiName"
    }
    assert api_names == {"Bestellungen--API"}


def test_an_api_name_without_ascii_characters_is_an_error(stack: Stack) -> None:
    with pytest.raises(ValueError, match=r"^Test/Api: rest_api_name '注文' has no ASCII character"):
        canary(stack, rest_api_props={"rest_api_name": "注文"})
