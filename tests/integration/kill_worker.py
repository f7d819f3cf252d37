"""A worker process that runs one SQS batch idempotently, to be SIGKILLed mid-batch.

::

    python -m tests.integration.kill_worker --endpoint URL --region R --table NAME \
        --impl ours|powertools --keys k1,k2,k3 [--hang-key k3] --runs-file PATH \
        --remaining-ms N [--expires-after S]

The batch has one record per key, body ``{"payment_id": key}``. Each record's work appends
``started <key>``, then ``finished <key>``, to the runs file (flushed and fsynced line by
line); the hang key's work appends ``started <key>`` and sleeps forever, as a hung
downstream call does until Lambda's timeout kills the invocation. ``--impl ours`` uses
``idempotent_batch_handler``; ``--impl powertools`` uses Powertools' ``idempotent_function``
with ``DynamoDBPersistenceLayer``, looping the records. The fake Lambda context gives the
invocation ``--remaining-ms`` from the moment the batch starts. Prints the batch response.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import boto3

from serverless_patterns.runtime.batch import SqsRecord
from serverless_patterns.runtime.idempotency import DynamoDBStore, idempotent_batch_handler
from tests.runtime.sqs_events import sqs_event, sqs_record

#: The key namespace of ``--impl ours``: fixed, so every worker process shares the records.
NAMESPACE = "kill-worker"
DEFAULT_EXPIRES_AFTER_SECONDS = 3600

Handler = Callable[[Mapping[str, Any], Any], Mapping[str, Any]]


class FakeContext:
    """The part of a Lambda context both implementations read: the time left."""

    def __init__(self, remaining_ms: int) -> None:
        self._deadline = time.monotonic() + remaining_ms / 1000

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - time.monotonic()) * 1000))


def sqs_batch(keys: Sequence[str]) -> dict[str, Any]:
    """One SQS batch event, a record per key (message ids ``m-<key>``)."""
    return sqs_event(
        sqs_record(json.dumps({"payment_id": key}), message_id=f"m-{key}") for key in keys
    )


class Runs:
    """Appends ``started``/``finished`` lines to the runs file, durably, one at a time."""

    def __init__(self, path: str, hang_key: str | None) -> None:
        self.path = path
        self.hang_key = hang_key

    def _append(self, line: str) -> None:
        with Path(self.path).open("a", encoding="utf-8") as runs:
            runs.write(line + "\n")
            runs.flush()
            os.fsync(runs.fileno())

    def work(self, key: str) -> dict[str, str]:
        self._append(f"started {key}")
        if key == self.hang_key:
            while True:
                time.sleep(60)
        self._append(f"finished {key}")
        return {"payment_id": key, "status": "captured"}


def ours(client: Any, table: str, expires_after: int, runs: Runs) -> Handler:
    store = DynamoDBStore(table, client=client, expires_after_seconds=expires_after)

    def handle_record(record: SqsRecord) -> dict[str, str]:
        return runs.work(str(record.json()["payment_id"]))

    handler: Handler = idempotent_batch_handler(
        handle_record, key="payment_id", store=store, namespace=NAMESPACE
    )
    return handler


def powertools(client: Any, table: str, expires_after: int, runs: Runs) -> Handler:
    from aws_lambda_powertools.utilities.idempotency import (
        DynamoDBPersistenceLayer,
        IdempotencyConfig,
        idempotent_function,
    )

    persistence = DynamoDBPersistenceLayer(table_name=table, boto3_client=client)
    config = IdempotencyConfig(event_key_jmespath="payment_id", expires_after_seconds=expires_after)

    @idempotent_function(  # type: ignore[untyped-decorator]
        data_keyword_argument="payment", persistence_store=persistence, config=config
    )
    def process_payment(payment: dict[str, Any]) -> dict[str, str]:
        return runs.work(str(payment["payment_id"]))

    def handler(event: Mapping[str, Any], context: Any) -> Mapping[str, Any]:
        config.register_lambda_context(context)
        failures = []
        for raw in event["Records"]:
            try:
                process_payment(payment=json.loads(raw["body"]))
            except Exception:
                failures.append({"itemIdentifier": raw["messageId"]})
        return {"batchItemFailures": failures}

    return handler


IMPLEMENTATIONS = {"ours": ours, "powertools": powertools}


def worker_command(
    *,
    endpoint: str,
    region: str,
    table: str,
    impl: str,
    keys: Sequence[str],
    runs_file: Path,
    remaining_ms: int,
    hang_key: str | None = None,
) -> list[str]:
    """The command running this worker from the checkout root (``python -m ...``)."""
    command = [
        sys.executable,
        "-m",
        "tests.integration.kill_worker",
        "--endpoint",
        endpoint,
        "--region",
        region,
        "--table",
        table,
        "--impl",
        impl,
        "--keys",
        ",".join(keys),
        "--runs-file",
        str(runs_file),
        "--remaining-ms",
        str(remaining_ms),
    ]
    return command if hang_key is None else [*command, "--hang-key", hang_key]


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--endpoint", required=True)
    parser.add_argument("--region", required=True)
    parser.add_argument("--table", required=True)
    parser.add_argument("--impl", required=True, choices=sorted(IMPLEMENTATIONS))
    parser.add_argument("--keys", required=True, help="comma-separated payment ids")
    parser.add_argument("--hang-key", default=None)
    parser.add_argument("--runs-file", required=True)
    parser.add_argument("--remaining-ms", required=True, type=int)
    parser.add_argument("--expires-after", type=int, default=DEFAULT_EXPIRES_AFTER_SECONDS)
    args = parser.parse_args(argv)

    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"):
        os.environ[name] = "testing"
    os.environ.pop("AWS_PROFILE", None)
    os.environ["AWS_DEFAULT_REGION"] = args.region
    client = boto3.client("dynamodb", endpoint_url=args.endpoint, region_name=args.region)
    runs = Runs(args.runs_file, args.hang_key)
    build = IMPLEMENTATIONS[args.impl]
    handler = build(client, args.table, args.expires_after, runs)
    keys = [key for key in args.keys.split(",") if key]

    response = handler(sqs_batch(keys), FakeContext(args.remaining_ms))
    print(json.dumps(response), flush=True)


if __name__ == "__main__":
    main()
