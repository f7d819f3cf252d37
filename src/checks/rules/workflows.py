"""Rules for workflows: state machines without logs or traces, functions orchestrating functions.

"Logging Step Functions using CloudWatch Logs": without a LoggingConfiguration (or with level
OFF) a failed execution leaves no log, only its history, which Standard workflows keep 90 days
and Express workflows do not keep at all. "Trace Step Functions request data in AWS X-Ray":
tracing is off unless TracingConfiguration.Enabled is true.
"""

from __future__ import annotations

from cdk_nag import NagMessageLevel, NagRuleCompliance

from serverless_patterns.checks._resources import LAMBDA_FUNCTION, Resource, is_intrinsic, is_known
from serverless_patterns.checks.rules._rule import Rule, RuleContext, RuleResult

STEP_FUNCTIONS_STATE_MACHINE = "AWS::StepFunctions::StateMachine"
#: Functions named in one function's environment from which it counts as an orchestrator.
ORCHESTRATED_FUNCTIONS = 2


def _logging_and_tracing(machine: Resource, context: RuleContext) -> RuleResult:
    findings: list[str] = []
    logging = machine.props.get("LoggingConfiguration")
    if logging is None:
        findings.append("LoggingConfiguration")
    elif isinstance(logging, dict) and not is_intrinsic(logging):
        level = logging.get("Level", "OFF")
        if (is_known(level) and level == "OFF") or "Destinations" not in logging:
            findings.append("LoggingConfiguration")
    tracing = machine.props.get("TracingConfiguration")
    if is_intrinsic(tracing):
        return findings or NagRuleCompliance.COMPLIANT
    enabled = tracing.get("Enabled", False) if isinstance(tracing, dict) else tracing
    if enabled is None or (is_known(enabled) and enabled is not True):
        findings.append("TracingConfiguration")
    return findings or NagRuleCompliance.COMPLIANT


def _orchestrates(function: Resource, context: RuleContext) -> RuleResult:
    environment = function.props.get("Environment") or {}
    variables = environment.get("Variables") if isinstance(environment, dict) else None
    if not isinstance(variables, dict):
        return NagRuleCompliance.NOT_APPLICABLE
    called = {
        target.logical_id
        for value in variables.values()
        if (target := context.index.function_of(function, value)) is not None
        and target is not function
    }
    if len(called) >= ORCHESTRATED_FUNCTIONS:
        return NagRuleCompliance.NON_COMPLIANT
    return NagRuleCompliance.COMPLIANT


STATE_MACHINE_LOGGING_TRACING = Rule(
    id="StateMachineLoggingTracing",
    level=NagMessageLevel.ERROR,
    resource_types=(STEP_FUNCTIONS_STATE_MACHINE,),
    info="A state machine does not log to CloudWatch Logs, or does not trace with X-Ray.",
    explanation="Without logs a failed execution can be diagnosed only from its history (kept "
    "90 days for Standard workflows, not kept for Express ones); without tracing the calls its "
    "tasks make are invisible. Set LoggingConfiguration with a level other than OFF and a log "
    "group destination, and TracingConfiguration.Enabled to true.",
    check=_logging_and_tracing,
)

LAMBDA_ORCHESTRATOR = Rule(
    id="LambdaOrchestrator",
    level=NagMessageLevel.WARN,
    resource_types=(LAMBDA_FUNCTION,),
    info="A function's environment names two or more other functions of the app: its code "
    "orchestrates them.",
    explanation="A function that calls other functions in sequence pays for its own time while "
    "each one runs, must handle their retries and errors itself, and loses its progress when it "
    "times out. Orchestrate the steps with Step Functions (retries, catches, redrive), or "
    "decouple them with queues or events. (A role allowed to invoke another function is "
    "LambdaInvokesLambda.)",
    check=_orchestrates,
)

WORKFLOW_RULES: tuple[Rule, ...] = (STATE_MACHINE_LOGGING_TRACING, LAMBDA_ORCHESTRATOR)
