"""Rules 6 and 8-10: runtime, reserved concurrency, secrets in the environment, log retention."""

from __future__ import annotations

import pytest
from aws_cdk import App, CfnParameter, Fn, Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_secretsmanager as secretsmanager

from serverless_patterns.checks import runtimes
from serverless_patterns.constructs import _defaults
from tests.checks.builders import findings, function
from tests.conftest import TEST_ENV

AT_FUNCTION = "at Test/Function/Resource"
#: The id suffix of aws-cdk-lib's singleton log retention provider function.
LOG_RETENTION_PROVIDER = "aae0aa3c5b4d4f87b02d85b201efdd8a"


# --- LambdaRuntimeDeprecated / LambdaRuntimeNotLatest -----------------------------------


def test_runtime_table_latest_python_is_the_library_default() -> None:
    assert _defaults.python_runtime().name == runtimes.LATEST_PYTHON


@pytest.mark.parametrize(
    "runtime", [lambda_.Runtime.PYTHON_3_9, lambda_.Runtime.NODEJS_18_X], ids=lambda r: r.name
)
def test_deprecated_runtime_is_flagged_as_deprecated_only(
    stack: Stack, runtime: lambda_.Runtime
) -> None:
    function(stack, runtime=runtime)
    assert findings(stack, "LambdaRuntimeDeprecated") == [
        f"ServerlessPatterns-LambdaRuntimeDeprecated {AT_FUNCTION}"
    ]
    assert findings(stack, "LambdaRuntimeNotLatest") == []


@pytest.mark.parametrize(
    "runtime", [lambda_.Runtime.PYTHON_3_12, lambda_.Runtime.NODEJS_22_X], ids=lambda r: r.name
)
def test_supported_but_older_runtime_is_flagged_as_not_latest(
    stack: Stack, runtime: lambda_.Runtime
) -> None:
    function(stack, runtime=runtime)
    assert findings(stack, "LambdaRuntimeNotLatest") == [
        f"ServerlessPatterns-LambdaRuntimeNotLatest {AT_FUNCTION}"
    ]
    assert findings(stack, "LambdaRuntimeDeprecated") == []


@pytest.mark.parametrize(
    "runtime", [lambda_.Runtime.PYTHON_3_14, lambda_.Runtime.NODEJS_24_X], ids=lambda r: r.name
)
def test_newest_runtime_passes(stack: Stack, runtime: lambda_.Runtime) -> None:
    function(stack, runtime=runtime)
    assert findings(stack, "LambdaRuntimeDeprecated") == []
    assert findings(stack, "LambdaRuntimeNotLatest") == []


def test_unresolvable_or_unknown_runtime_is_not_reported(stack: Stack) -> None:
    fn = function(stack)
    cfn = fn.node.default_child
    assert isinstance(cfn, lambda_.CfnFunction)
    cfn.runtime = CfnParameter(stack, "Runtime", type="String").value_as_string
    bare_function(stack, "Future").runtime = "python3.15"
    assert findings(stack, "LambdaRuntimeDeprecated") == []
    assert findings(stack, "LambdaRuntimeNotLatest") == []


# --- ReservedConcurrency ----------------------------------------------------------------


def test_reservations_leaving_fewer_than_100_unreserved_are_flagged(stack: Stack) -> None:
    function(stack, "A", reserved_concurrent_executions=500)
    function(stack, "B", reserved_concurrent_executions=401)
    function(stack, "C")
    assert findings(stack, "ReservedConcurrency") == [
        "ServerlessPatterns-ReservedConcurrency at Test/A/Resource",
        "ServerlessPatterns-ReservedConcurrency at Test/B/Resource",
    ]


def test_reservations_are_summed_across_the_stacks_of_the_app(stack: Stack) -> None:
    function(stack, "A", reserved_concurrent_executions=500)
    app = stack.node.root
    assert isinstance(app, App)
    function(Stack(app, "Agnostic"), "B", reserved_concurrent_executions=401)
    assert findings(stack, "ReservedConcurrency") == []  # may deploy elsewhere: no guess
    same_env = Stack(app, "SameEnv", env=TEST_ENV)
    function(same_env, "B", reserved_concurrent_executions=401)
    assert findings(stack, "ReservedConcurrency") == [
        "ServerlessPatterns-ReservedConcurrency at Test/A/Resource"
    ]


def test_reservations_within_the_limit_or_a_raised_limit_pass(stack: Stack) -> None:
    function(stack, "A", reserved_concurrent_executions=500)
    function(stack, "B", reserved_concurrent_executions=400)
    assert findings(stack, "ReservedConcurrency") == []
    function(stack, "C", reserved_concurrent_executions=50)
    assert len(findings(stack, "ReservedConcurrency")) == 3
    assert findings(stack, "ReservedConcurrency", account_concurrency_limit=2000) == []


def test_unresolvable_reservation_is_not_reported_or_counted(stack: Stack) -> None:
    reserved = CfnParameter(stack, "Reserved", type="Number").value_as_number
    function(stack, "A", reserved_concurrent_executions=reserved)
    function(stack, "B", reserved_concurrent_executions=800)
    assert findings(stack, "ReservedConcurrency") == []


# --- LambdaSecretEnvironment ------------------------------------------------------------


def test_literal_secret_in_the_environment_is_flagged_per_variable(stack: Stack) -> None:
    function(
        stack,
        environment={
            "DB_PASSWORD": "hunter2",
            "STRIPE_API_KEY": "sk_live_123",
            "GITHUB_TOKEN": "{{resolve:secretsmanager:github:SecretString:token}}",
            "TABLE_NAME": "orders",
        },
    )
    assert findings(stack, "LambdaSecretEnvironment") == [
        f"ServerlessPatterns-LambdaSecretEnvironment[DB_PASSWORD] {AT_FUNCTION}",
        f"ServerlessPatterns-LambdaSecretEnvironment[GITHUB_TOKEN] {AT_FUNCTION}",
        f"ServerlessPatterns-LambdaSecretEnvironment[STRIPE_API_KEY] {AT_FUNCTION}",
    ]


def test_references_to_secrets_pass(stack: Stack) -> None:
    secret = secretsmanager.Secret(stack, "Secret")
    function(
        stack,
        environment={
            "DB_PASSWORD_SECRET_ARN": secret.secret_arn,
            "API_TOKEN": secret.secret_arn,
            "API_KEY": "arn:aws:ssm:eu-west-1:123456789012:parameter/prod/api-key",
            "SIGNING_SECRET": "/prod/webhooks/signing-secret",
            "CLIENT_SECRET_NAME": "prod/client",
            "PASSWORD": "",
        },
    )
    assert findings(stack, "LambdaSecretEnvironment") == []


def test_unresolvable_secret_value_is_not_reported(stack: Stack) -> None:
    value = CfnParameter(stack, "Token", type="String", no_echo=True).value_as_string
    function(stack, environment={"API_TOKEN": value})
    assert findings(stack, "LambdaSecretEnvironment") == []


# --- LambdaLogRetention -----------------------------------------------------------------


def bare_function(stack: Stack, construct_id: str, **props: object) -> lambda_.CfnFunction:
    """An L1 function: no log group of its own (aws-cdk-lib's L2 adds one under the
    project's feature flags)."""
    role = iam.Role(stack, f"{construct_id}Role", assumed_by=iam.ServicePrincipal("lambda"))
    return lambda_.CfnFunction(
        stack,
        construct_id,
        runtime="python3.14",
        handler="index.handler",
        code=lambda_.CfnFunction.CodeProperty(zip_file="x"),
        role=role.role_arn,
        **props,  # type: ignore[arg-type]
    )


def test_function_with_the_default_log_group_is_flagged(stack: Stack) -> None:
    bare_function(stack, "Bare")
    assert findings(stack, "LambdaLogRetention") == [
        "ServerlessPatterns-LambdaLogRetention at Test/Bare"
    ]


def test_log_group_without_retention_is_flagged(stack: Stack) -> None:
    group = logs.LogGroup(stack, "Logs", retention=logs.RetentionDays.INFINITE)
    function(stack, log_group=group)
    assert findings(stack, "LambdaLogRetention") == [
        f"ServerlessPatterns-LambdaLogRetention {AT_FUNCTION}"
    ]


def test_log_group_with_retention_or_log_retention_setting_passes(stack: Stack) -> None:
    function(stack)  # its own log group, kept a month
    function(stack, "Legacy", log_retention=logs.RetentionDays.ONE_WEEK)
    function(stack, "WithL2Default", log_group=None)  # aws-cdk-lib's managed log group
    bare_function(stack, "Named", function_name="named")
    logs.CfnLogGroup(stack, "ByName", log_group_name="/aws/lambda/named", retention_in_days=7)
    by_ref = bare_function(stack, "ByRef")
    logs.CfnLogGroup(
        stack,
        "ByRefLogs",
        log_group_name=Fn.join("", ["/aws/lambda/", by_ref.ref]),
        retention_in_days=7,
    )
    # only the provider function aws-cdk-lib adds for log_retention, whose own logs are kept
    # forever (a true finding: prefer a log group over the deprecated log_retention)
    assert [f.split(" at ")[1] for f in findings(stack, "LambdaLogRetention")] == [
        f"Test/LogRetention{LOG_RETENTION_PROVIDER}/Resource"
    ]


def test_log_group_the_app_does_not_define_is_not_reported(stack: Stack) -> None:
    name = CfnParameter(stack, "LogGroupName", type="String").value_as_string
    function(stack, log_group=logs.LogGroup.from_log_group_name(stack, "Shared", name))
    function(stack, "Imported", log_group=logs.LogGroup.from_log_group_name(stack, "Ext", "ext"))
    assert findings(stack, "LambdaLogRetention") == []
