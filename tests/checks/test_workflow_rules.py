"""StateMachineLoggingTracing and LambdaOrchestrator: flagged, passing and unresolvable cases,
run through a pack holding only these rules (registration is left to the pack owner)."""

from __future__ import annotations

from typing import Any

import pytest
from aws_cdk import App, CfnParameter, Stack
from aws_cdk import aws_logs as logs
from aws_cdk import aws_stepfunctions as sfn

from serverless_patterns.checks import ServerlessPatternsChecks
from serverless_patterns.checks.rules.workflows import WORKFLOW_RULES
from tests.checks.builders import function
from tests.conftest import nag_findings


class _WorkflowRulesOnly(ServerlessPatternsChecks):
    def __init__(self) -> None:
        super().__init__()
        self._rules_by_type = {}
        for rule in WORKFLOW_RULES:
            for resource_type in rule.resource_types:
                self._rules_by_type.setdefault(resource_type, []).append(rule)


def findings(stack: Stack, rule: str) -> list[str]:
    prefix = f"ServerlessPatterns-{rule}"
    return [
        f
        for f in nag_findings(_WorkflowRulesOnly(), stack)
        if f.startswith((f"{prefix} ", f"{prefix}["))
    ]


def machine(stack: Stack, **props: Any) -> sfn.StateMachine:
    return sfn.StateMachine(
        stack,
        "Machine",
        definition_body=sfn.DefinitionBody.from_chainable(sfn.Pass(stack, "Step")),
        **props,
    )


def logs_options(stack: Stack, level: sfn.LogLevel = sfn.LogLevel.ALL) -> sfn.LogOptions:
    return sfn.LogOptions(destination=logs.LogGroup(stack, "Logs"), level=level)


def test_logged_and_traced_passes(stack: Stack) -> None:
    machine(stack, logs=logs_options(stack), tracing_enabled=True)
    assert findings(stack, "StateMachineLoggingTracing") == []


@pytest.mark.parametrize(
    ("logged", "level", "traced", "parts"),
    [
        (False, None, True, ["LoggingConfiguration"]),
        (True, sfn.LogLevel.OFF, True, ["LoggingConfiguration"]),
        (True, sfn.LogLevel.ERROR, False, ["TracingConfiguration"]),
        (False, None, False, ["LoggingConfiguration", "TracingConfiguration"]),
    ],
)
def test_missing_logs_or_traces_are_flagged_per_part(
    stack: Stack, logged: bool, level: sfn.LogLevel | None, traced: bool, parts: list[str]
) -> None:
    machine(
        stack,
        logs=logs_options(stack, level or sfn.LogLevel.ALL) if logged else None,
        tracing_enabled=traced or None,
    )
    assert findings(stack, "StateMachineLoggingTracing") == [
        f"ServerlessPatterns-StateMachineLoggingTracing[{part}] at Test/Machine/Resource"
        for part in parts
    ]


def test_a_level_from_a_parameter_is_not_reported(stack: Stack) -> None:
    level = CfnParameter(stack, "Level", default="ALL").value_as_string
    resource = machine(stack, logs=logs_options(stack), tracing_enabled=True)
    resource.node.default_child.add_property_override(  # type: ignore[union-attr]
        "LoggingConfiguration.Level", level
    )
    assert findings(stack, "StateMachineLoggingTracing") == []


def test_a_function_naming_two_functions_orchestrates(stack: Stack) -> None:
    first, second = function(stack, "Reserve"), function(stack, "Charge")
    function(
        stack,
        "Orchestrator",
        environment={"RESERVE": first.function_name, "CHARGE": second.function_arn},
    )
    assert findings(stack, "LambdaOrchestrator") == [
        "ServerlessPatterns-LambdaOrchestrator at Test/Orchestrator/Resource"
    ]


def test_one_function_or_none_is_not_orchestration(stack: Stack) -> None:
    first = function(stack, "Reserve")
    function(stack, "Caller", environment={"RESERVE": first.function_name, "MODE": "x"})
    function(stack, "Plain", environment={"A": "b"})
    assert findings(stack, "LambdaOrchestrator") == []


def test_the_same_function_twice_counts_once(stack: Stack) -> None:
    first = function(stack, "Reserve")
    function(
        stack,
        "Caller",
        environment={"NAME": first.function_name, "ARN": first.function_arn},
    )
    assert findings(stack, "LambdaOrchestrator") == []


def test_silent_on_the_reference_app(reference_app: tuple[App, list[Stack]]) -> None:
    app, _ = reference_app
    assert nag_findings(_WorkflowRulesOnly(), app) == []
