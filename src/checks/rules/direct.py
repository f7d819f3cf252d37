"""LambdaOnlyTransports: a function behind an API whose only job is one AWS API call.

"Use Lambda functions to transform data, not to transport data": a function an API invokes
that may write to exactly one AWS API (one write action, such as ``sqs:SendMessage``) is most
often a pass-through a direct integration replaces ("Tutorial: Create a REST API as an Amazon
SQS proxy", and the DynamoDB, EventBridge and Step Functions equivalents in the API Gateway
Developer Guide), with one less cold start, timeout and bill. A warning: the function may
also transform the data, and then it is the right tool (acknowledge the finding saying so).
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping

from cdk_nag import NagMessageLevel, NagRuleCompliance

from serverless_patterns.checks._resources import (
    LAMBDA_FUNCTION,
    Resource,
    ResourceIndex,
    as_list,
    referenced_ids,
    same_stack,
)
from serverless_patterns.checks._values import string_parts
from serverless_patterns.checks.rules._rule import Rule, RuleContext, RuleResult

APIGATEWAY_METHOD = "AWS::ApiGateway::Method"
APIGATEWAYV2_INTEGRATION = "AWS::ApiGatewayV2::Integration"
#: Services whose actions a function's baseline needs (logs, traces, metrics, keys used by
#: the write itself): not the function's job.
_BASELINE_SERVICES = frozenset({"logs", "xray", "cloudwatch", "kms"})
#: Verbs that change something (IAM action names, "Actions, resources, and condition keys").
_WRITE_VERB = re.compile(
    r"^(Put|Send|Publish|Start|Update|Delete|Create|Write|BatchWrite|Upload|Append|Emit)"
)


def _integration_uris(index: ResourceIndex) -> Iterator[tuple[Resource, object]]:
    for method in index.of_type(APIGATEWAY_METHOD):
        integration = method.props.get("Integration")
        if isinstance(integration, Mapping):
            yield method, integration.get("Uri")
    for integration in index.of_type(APIGATEWAYV2_INTEGRATION):
        yield integration, integration.props.get("IntegrationUri")


def _behind_api(function: Resource, index: ResourceIndex) -> bool:
    """Whether an API Gateway integration (REST, HTTP or WebSocket) invokes the function."""
    for origin, uri in _integration_uris(index):
        if not same_stack(origin, function):
            continue
        for logical_id in _named_ids(uri):
            if index.function_of(origin, {"Ref": logical_id}) is function:
                return True
    return False


def _named_ids(uri: object) -> set[str]:
    """Logical ids an integration URI names: by ``Ref``/``Fn::GetAtt`` (aws-cdk-lib's
    ``Fn::Join``) or inside ``Fn::Sub`` (``${Function.Arn}``, as SAM writes it)."""
    found = referenced_ids(uri)
    for part in string_parts(uri) or []:
        if not isinstance(part, str):
            found.add(part[1].split(".", 1)[0])
    return found


def _write_actions(statements: list[dict[str, object]]) -> set[str] | None:
    """The distinct write actions allowed; None when a wildcard action may allow several."""
    writes: set[str] = set()
    for statement in statements:
        for action in as_list(statement.get("Action")):
            if not isinstance(action, str) or ":" not in action:
                return None
            service, verb = action.split(":", 1)
            if service.lower() in _BASELINE_SERVICES:
                continue
            if "*" in verb or "?" in verb:
                if not verb.startswith(("Get", "List", "Describe")):
                    return None
                continue
            if _WRITE_VERB.match(verb):
                writes.add(f"{service.lower()}:{verb}")
    return writes


def _only_transports(function: Resource, context: RuleContext) -> RuleResult:
    index = context.index
    if not _behind_api(function, index):
        return NagRuleCompliance.NOT_APPLICABLE
    statements = index.role_statements(function)
    if statements is None:
        return NagRuleCompliance.NOT_APPLICABLE
    writes = _write_actions(statements)
    if writes is None:
        return NagRuleCompliance.NOT_APPLICABLE
    return NagRuleCompliance.NON_COMPLIANT if len(writes) == 1 else NagRuleCompliance.COMPLIANT


LAMBDA_ONLY_TRANSPORTS = Rule(
    id="LambdaOnlyTransports",
    level=NagMessageLevel.WARN,
    resource_types=(LAMBDA_FUNCTION,),
    info="A function behind an API may write to exactly one AWS API: it may only pass the "
    "request on.",
    explanation="Use Lambda functions to transform data, not to transport data. If the function "
    "only forwards the request to SQS, EventBridge, DynamoDB or Step Functions, an API Gateway "
    "service integration (DirectApi) does the same without a cold start, a function timeout "
    "or a bill per call. If it also transforms or checks the data, acknowledge the finding on "
    "the function with that reason.",
    check=_only_transports,
)

DIRECT_RULES: tuple[Rule, ...] = (LAMBDA_ONLY_TRANSPORTS,)
