"""Webhook sender: an SQS batch handler delivering signed webhooks to subscriber endpoints.

Configured by the ``contract.SENDER_*`` environment variables; see
``serverless_patterns.runtime.webhooks.sender``. A record fails (``batchItemFailures``) only
when its delivery could neither be settled nor re-sent, so SQS delivers it again.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from typing import Any

from serverless_patterns.runtime.batch import BatchResponse, process_records, sqs_records
from serverless_patterns.runtime.webhooks.sender import Sender


@functools.cache
def default_sender() -> Sender:
    """The container's sender (its secret cache and rate limiters), built once."""
    return Sender.from_environment()


def handler(event: Mapping[str, Any], context: Any) -> BatchResponse:
    """The Lambda entry point: a partial batch response."""
    return process_records(sqs_records(event), default_sender().deliver)
