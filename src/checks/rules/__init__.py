"""The rules of ``ServerlessPatternsChecks``, one module per resource family.

Each rule reads resolved CloudFormation properties (``serverless_patterns.checks._resources``)
and returns COMPLIANT, NON_COMPLIANT, NOT_APPLICABLE, or a list of findings (one per part, so
each can be acknowledged on its own). A value that cannot be resolved at synth gives
NOT_APPLICABLE: the rules report nothing rather than guess.
"""

from __future__ import annotations

from serverless_patterns.checks.rules._rule import Rule, RuleContext, RuleResult
from serverless_patterns.checks.rules.async_invocation import (
    EVENTS_TARGET_DLQ,
    LAMBDA_ASYNC_FAILURE_DESTINATION,
)
from serverless_patterns.checks.rules.direct import LAMBDA_ONLY_TRANSPORTS
from serverless_patterns.checks.rules.functions import (
    LAMBDA_LOG_RETENTION,
    LAMBDA_RUNTIME_DEPRECATED,
    LAMBDA_RUNTIME_NOT_LATEST,
    LAMBDA_SECRET_ENVIRONMENT,
    RESERVED_CONCURRENCY,
)
from serverless_patterns.checks.rules.sqs import (
    SQS_DEAD_LETTER_QUEUE,
    SQS_PARTIAL_BATCH_RESPONSE,
    SQS_VISIBILITY_TIMEOUT,
)
from serverless_patterns.checks.rules.streams import (
    STREAM_BOUNDED_RETRIES,
    STREAM_ON_FAILURE_DESTINATION,
    STREAM_PARTIAL_BATCH_RESPONSE,
)
from serverless_patterns.checks.rules.triggers import LAMBDA_INVOKES_LAMBDA, RECURSIVE_TRIGGER
from serverless_patterns.checks.rules.workflows import (
    LAMBDA_ORCHESTRATOR,
    STATE_MACHINE_LOGGING_TRACING,
)

#: Every rule of the pack, in the order of the README table.
RULES: tuple[Rule, ...] = (
    SQS_VISIBILITY_TIMEOUT,
    SQS_PARTIAL_BATCH_RESPONSE,
    SQS_DEAD_LETTER_QUEUE,
    RECURSIVE_TRIGGER,
    LAMBDA_INVOKES_LAMBDA,
    LAMBDA_RUNTIME_DEPRECATED,
    LAMBDA_RUNTIME_NOT_LATEST,
    LAMBDA_ASYNC_FAILURE_DESTINATION,
    EVENTS_TARGET_DLQ,
    RESERVED_CONCURRENCY,
    LAMBDA_SECRET_ENVIRONMENT,
    LAMBDA_LOG_RETENTION,
    STREAM_ON_FAILURE_DESTINATION,
    STREAM_BOUNDED_RETRIES,
    STREAM_PARTIAL_BATCH_RESPONSE,
    STATE_MACHINE_LOGGING_TRACING,
    LAMBDA_ORCHESTRATOR,
    LAMBDA_ONLY_TRANSPORTS,
)

__all__ = ["RULES", "Rule", "RuleContext", "RuleResult"]
