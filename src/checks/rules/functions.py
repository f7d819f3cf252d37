"""Rules 6 and 8-10: a function's own configuration (runtime, concurrency, environment, logs)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from cdk_nag import NagMessageLevel, NagRuleCompliance

from serverless_patterns.checks import runtimes
from serverless_patterns.checks._resources import (
    LAMBDA_FUNCTION,
    LOG_GROUP,
    LOG_RETENTION,
    Resource,
    ResourceIndex,
    as_int,
    is_intrinsic,
    same_stack,
)
from serverless_patterns.checks._values import (
    LAMBDA_LOG_PREFIX,
    Parts,
    Reference,
    default_log_group_names,
    is_literal,
    string_parts,
)
from serverless_patterns.checks.rules._rule import Rule, RuleContext, RuleResult

#: Names of environment variables that usually hold a secret.
SECRET_NAME = re.compile(
    r"PASSWORD|PASSWD|SECRET|TOKEN|API_?KEY|PRIVATE_?KEY|ACCESS_?KEY|CREDENTIAL|CLIENT_?KEY"
    r"|SIGNING_?KEY|AUTH_?KEY|CONNECTION_?STRING",
    re.IGNORECASE,
)
#: ...unless the name says the value only points at the secret.
REFERENCE_NAME = re.compile(r"_(ARN|NAME|ID|PARAM|PARAMETER|PATH|URL|URI|ENDPOINT|TTL)$", re.I)
#: Values that point at a secret instead of holding it.
REFERENCE_VALUE = re.compile(r"^(arn:aws[a-z-]*:(secretsmanager|ssm|kms):|/)")
#: A CloudFormation dynamic reference that puts the secret itself into the configuration.
DYNAMIC_SECRET = re.compile(r"\{\{resolve:(secretsmanager|ssm-secure):")


def _runtime(function: Resource) -> str | None:
    runtime = function.props.get("Runtime")
    return runtime if isinstance(runtime, str) else None


def _runtime_deprecated(function: Resource, context: RuleContext) -> RuleResult:
    runtime = _runtime(function)
    if runtime is None:
        return NagRuleCompliance.NOT_APPLICABLE
    if runtimes.is_deprecated(runtime):
        return NagRuleCompliance.NON_COMPLIANT
    return NagRuleCompliance.COMPLIANT


def _runtime_not_latest(function: Resource, context: RuleContext) -> RuleResult:
    runtime = _runtime(function)
    if runtime is None or runtimes.is_deprecated(runtime):
        return NagRuleCompliance.NOT_APPLICABLE  # deprecated: the other rule reports it
    if runtimes.is_older_than_latest(runtime):
        return NagRuleCompliance.NON_COMPLIANT
    return NagRuleCompliance.COMPLIANT


def _reserved_concurrency(function: Resource, context: RuleContext) -> RuleResult:
    own = function.props.get("ReservedConcurrentExecutions")
    if own is None or as_int(own) is None:
        return NagRuleCompliance.NOT_APPLICABLE
    key = function.environment
    total = 0
    for other in context.index.of_type(LAMBDA_FUNCTION):
        reserved = as_int(other.props.get("ReservedConcurrentExecutions"))
        if reserved is not None and other.environment == key:
            total += reserved  # unknown values are left out: the sum is a lower bound
    if context.account_concurrency_limit - total < context.min_unreserved_concurrency:
        return NagRuleCompliance.NON_COMPLIANT
    return NagRuleCompliance.COMPLIANT


def _literal_secret(value: Any) -> bool:
    if not isinstance(value, str) or not value:
        return False
    if DYNAMIC_SECRET.search(value):
        return True
    return REFERENCE_VALUE.match(value) is None


def _secret_environment(function: Resource, context: RuleContext) -> RuleResult:
    environment = function.props.get("Environment")
    variables = environment.get("Variables") if isinstance(environment, Mapping) else None
    if not isinstance(variables, Mapping) or is_intrinsic(variables):
        return NagRuleCompliance.NOT_APPLICABLE
    findings = [
        name
        for name, value in variables.items()
        if SECRET_NAME.search(name) and not REFERENCE_NAME.search(name) and _literal_secret(value)
    ]
    return sorted(findings) if findings else NagRuleCompliance.COMPLIANT


def _log_group_retention(group: Resource) -> RuleResult:
    """A log group, or a Custom::LogRetention, with RetentionInDays set (to any value)."""
    present = group.props.get("RetentionInDays") is not None
    return NagRuleCompliance.COMPLIANT if present else NagRuleCompliance.NON_COMPLIANT


def _names_default_group(group: Resource, function: Resource, index: ResourceIndex) -> bool | None:
    """Whether a log group (or Custom::LogRetention) is named ``/aws/lambda/<function name>``,
    however the name is written (literal, ``Ref``, ``Fn::Sub``, ``Fn::Join``); None when that
    cannot be known at synth (a parameter, ``Fn::If``, ``Fn::ImportValue`` ...)."""
    value = group.props.get("LogGroupName")
    parts = string_parts(value)
    names = default_log_group_names(function.logical_id, function.props.get("FunctionName"))
    if value is None or not same_stack(group, function):
        # without a name CloudFormation generates a unique one; references in another stack
        # name that stack's resources, so only literal names compare
        return parts is not None and is_literal(parts) and parts in names
    if parts is None:
        return None
    if parts in names:
        return True
    if _names_another_group(parts, group, index):
        return False
    # a literal name is another function's unless this function's name is unknown (without
    # FunctionName, CloudFormation generates a unique one)
    name = function.props.get("FunctionName")
    if is_literal(parts) and (name is None or string_parts(name) is not None):
        return False
    return None


def _names_another_group(parts: Parts, group: Resource, index: ResourceIndex) -> bool:
    """Whether a log group name is not a Lambda log group, or another function's."""
    head = parts[0] if parts else ""
    if isinstance(head, str) and not (
        head.startswith(LAMBDA_LOG_PREFIX) or LAMBDA_LOG_PREFIX.startswith(head)
    ):
        return True
    return (
        len(parts) == 2
        and index.target(group, _as_reference(parts[1]), LAMBDA_FUNCTION) is not None
    )


def _as_reference(part: str | Reference) -> dict[str, Any] | None:
    if isinstance(part, str):
        return None
    kind, name = part
    return {"Ref": name} if kind == "Ref" else {"Fn::GetAtt": name.split(".", 1)}


def _log_group_named(function: Resource, value: Any, index: ResourceIndex) -> Resource | None:
    """The log group of the app that ``LoggingConfig.LogGroup`` names (by Ref or by name)."""
    group = index.target(function, value, LOG_GROUP)
    if group is not None:
        return group
    wanted = string_parts(value)
    if wanted is None:
        return None
    for candidate in index.of_type(LOG_GROUP):
        if string_parts(candidate.props.get("LogGroupName")) == wanted and (
            is_literal(wanted) or same_stack(candidate, function)
        ):
            return candidate
    return None


def _log_retention(function: Resource, context: RuleContext) -> RuleResult:
    logging = function.props.get("LoggingConfig")
    if logging is not None and (not isinstance(logging, Mapping) or is_intrinsic(logging)):
        return NagRuleCompliance.NOT_APPLICABLE
    group_name = (logging or {}).get("LogGroup")
    if group_name is not None:
        group = _log_group_named(function, group_name, context.index)
        if group is None:
            return NagRuleCompliance.NOT_APPLICABLE  # a log group this app does not define
        return _log_group_retention(group)
    return _default_group_retention(function, context.index)


def _default_group_retention(function: Resource, index: ResourceIndex) -> RuleResult:
    """Whether the log group Lambda writes to by default has a retention."""
    matches = [
        (group, _names_default_group(group, function, index))
        for group in index.of_type(LOG_GROUP, LOG_RETENTION)
    ]
    named = [group for group, match in matches if match]
    if named:
        if any(_log_group_retention(g) == NagRuleCompliance.COMPLIANT for g in named):
            return NagRuleCompliance.COMPLIANT
        return NagRuleCompliance.NON_COMPLIANT
    if any(match is None for _, match in matches):
        return NagRuleCompliance.NOT_APPLICABLE  # a log group whose name is unknown may be it
    return NagRuleCompliance.NON_COMPLIANT


LAMBDA_RUNTIME_DEPRECATED = Rule(
    id="LambdaRuntimeDeprecated",
    level=NagMessageLevel.ERROR,
    resource_types=(LAMBDA_FUNCTION,),
    info="The function uses a runtime AWS Lambda no longer supports.",
    explanation="A deprecated runtime gets no security patches, and Lambda blocks creating "
    "and then updating functions on it. Move to the newest runtime of the language "
    "(serverless_patterns.checks.runtimes lists them; Python: python3.14).",
    check=_runtime_deprecated,
)

LAMBDA_RUNTIME_NOT_LATEST = Rule(
    id="LambdaRuntimeNotLatest",
    level=NagMessageLevel.WARN,
    resource_types=(LAMBDA_FUNCTION,),
    info="The function uses a supported runtime that is not the newest of its language.",
    explanation="Older runtimes are deprecated first, so staying on the newest one gives the "
    "longest support window, and newer runtimes start and run faster. Move to the newest "
    "runtime of the language (serverless_patterns.checks.runtimes; Python: python3.14), or "
    "apply the FunctionBaseline Aspect to Python functions.",
    check=_runtime_not_latest,
)

RESERVED_CONCURRENCY = Rule(
    id="ReservedConcurrency",
    level=NagMessageLevel.ERROR,
    resource_types=(LAMBDA_FUNCTION,),
    info="Reserved concurrency summed over the app's functions in one account and Region "
    "leaves fewer than 100 unreserved executions.",
    explanation="Lambda keeps at least 100 executions unreserved for functions without a "
    "reservation and rejects a deployment that would take them (the default account limit "
    "is 1,000). Reserve less, prefer an event source's maximum concurrency to protect a "
    "downstream, or raise the account limit and pass it to ServerlessPatternsChecks("
    "account_concurrency_limit=...).",
    check=_reserved_concurrency,
)

LAMBDA_SECRET_ENVIRONMENT = Rule(
    id="LambdaSecretEnvironment",
    level=NagMessageLevel.ERROR,
    resource_types=(LAMBDA_FUNCTION,),
    info="An environment variable whose name looks like a secret (PASSWORD, SECRET, TOKEN, "
    "API_KEY, ...) holds a literal value, not a reference to Secrets Manager or SSM.",
    explanation="Environment variables are stored in the function's configuration and the "
    "template, readable by anyone who may read either (a {{resolve:secretsmanager:...}} "
    "dynamic reference lands there too). Store the secret in Secrets Manager or SSM "
    "Parameter Store, put its ARN or name in the environment (e.g. DB_PASSWORD_SECRET_ARN), "
    "grant the function read access and fetch it at runtime (cached).",
    check=_secret_environment,
)

LAMBDA_LOG_RETENTION = Rule(
    id="LambdaLogRetention",
    level=NagMessageLevel.WARN,
    resource_types=(LAMBDA_FUNCTION,),
    info="The function's log group has no explicit retention.",
    explanation="Lambda creates /aws/lambda/<name> on first use with logs kept forever, which "
    "costs more every month and keeps personal data longer than needed. Give the function a "
    "log group with a retention period (logging_config / log_group with a logs.LogGroup), or "
    "apply the FunctionBaseline Aspect.",
    check=_log_retention,
)
