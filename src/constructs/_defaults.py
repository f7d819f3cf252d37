"""Library defaults in one place, and the one precedence rule for merging props.

Precedence: library defaults < user overrides < values a pattern needs to be correct.

Defaults that are jsii objects (``Duration``, ``Runtime``) are functions, not constants: a jsii
call while a module is imported would make every import of a construct load aws-cdk-lib's
JavaScript in the node kernel, which only a synth needs.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from aws_cdk import Duration
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs

FUNCTION_MEMORY_MB = 256
FUNCTION_TIMEOUT_SECONDS = 30
LOG_RETENTION = logs.RetentionDays.ONE_MONTH


def python_runtime() -> lambda_.Runtime:
    """The newest Python runtime this aws-cdk-lib knows; cdk-nag's LambdaLatestVersion checks
    the same."""
    return lambda_.Runtime.PYTHON_3_14


def function_timeout() -> Duration:
    return Duration.seconds(FUNCTION_TIMEOUT_SECONDS)


def metric_period() -> Duration:
    """The period alarms evaluate, and metric_* methods use, unless told otherwise: 5 minutes."""
    return Duration.minutes(5)


#: Lambda documentation: at least 5, so a message throttled a few times is not dead-lettered.
MAX_RECEIVE_COUNT = 5
MIN_MAX_RECEIVE_COUNT = 5
#: Lambda documentation: visibility timeout >= 6 x function timeout (+ batching window).
VISIBILITY_TIMEOUT_FACTOR = 6


def dlq_retention() -> Duration:
    """How long a dead-letter queue keeps messages: 14 days, SQS's longest."""
    return Duration.days(14)


BATCH_SIZE = 10
MAX_BATCH_SIZE_WITHOUT_WINDOW = 10
MAX_BATCH_SIZE_WITH_WINDOW = 10_000
MAX_FIFO_BATCH_SIZE = 10
MAX_BATCHING_WINDOW_SECONDS = 300
MIN_MAX_CONCURRENCY = 2
MAX_MAX_CONCURRENCY = 1000
#: The SQS event source's default maximum concurrency: every queue consumer is bounded, so a
#: burst of messages (public traffic behind a webhook or an API) cannot take the account's
#: unreserved concurrency (Lambda guide, "Configuring maximum concurrency for Amazon SQS
#: event sources"). Reserved concurrency is set only where a user asks for it.
DEFAULT_MAX_CONCURRENCY = 10

#: Longest idempotency expiry: the longest redelivery path of the AWS sources (14 days of SQS
#: retention plus 14 in the dead-letter queue before a redrive), rounded up to 30 days.
MAX_IDEMPOTENCY_EXPIRES_AFTER_SECONDS = 30 * 24 * 3600

#: EventBridge's own retry policy for a rule target (seed and EventBridge documentation): events
#: are retried for 24 hours and up to 185 times, with exponential backoff and jitter. Stated
#: explicitly on every target so the template shows it.
EVENT_RETRY_ATTEMPTS = 185
EVENT_MAX_EVENT_AGE_SECONDS = 24 * 3600
#: The ranges EventBridge accepts for a target's RetryPolicy.
MAX_EVENT_RETRY_ATTEMPTS = 185
MIN_EVENT_AGE_SECONDS = 60
MAX_EVENT_AGE_SECONDS = 24 * 3600
#: EventBridge accepts at most 5 targets per rule.
MAX_TARGETS_PER_RULE = 5
#: How long an event bus archive keeps events for replay: a month covers finding a consumer bug
#: and redeploying the fix, at archive storage cost only.
ARCHIVE_RETENTION_DAYS = 30

#: Keys whose values are mappings merged key by key instead of replaced.
_DEEP_MERGED_KEYS = frozenset({"environment"})


def merge_props(
    defaults: Mapping[str, Any],
    overrides: Mapping[str, Any] | None,
    required: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """Merges props by precedence; ``environment``-like mappings merge key by key."""
    merged: dict[str, Any] = dict(defaults)
    for layer in (overrides or {}, required or {}):
        for key, value in layer.items():
            if key in _DEEP_MERGED_KEYS and isinstance(merged.get(key), Mapping):
                merged[key] = {**merged[key], **value}
            else:
                merged[key] = value
    return merged
