"""A worker process SIGKILLed mid-batch: the redelivery re-runs only the record in flight.

The worker (``tests.integration.kill_worker``) runs a three-record batch against the moto
server; the third record's work hangs, as a downstream call does until Lambda's timeout or an
out-of-memory kill ends the invocation. The runs file, written and fsynced by the worker, is
the record of which work ran; DynamoDB is not asked.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections import Counter
from pathlib import Path
from typing import TYPE_CHECKING, Any

from serverless_patterns.runtime.idempotency import schema
from tests.integration.kill_worker import worker_command
from tests.moto_fixtures import AWS_REGION

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

REPO_ROOT = Path(__file__).resolve().parents[2]
KEYS = ["pay-1", "pay-2", "pay-3"]
HANG_KEY = "pay-3"
#: The killed invocation's time left: its locks may be taken over this long after it starts.
REMAINING_MS = 3000
#: Several moto round trips: completions of finished records have been written by then.
KILL_DELAY_SECONDS = 0.5


def worker(
    endpoint: str, table: str, runs_file: Path, *, hang_key: str | None = None
) -> subprocess.Popen[str]:
    """Starts ``python -m tests.integration.kill_worker`` for the batch of ``KEYS``."""
    command = worker_command(
        endpoint=endpoint,
        region=AWS_REGION,
        table=table,
        impl="ours",
        keys=KEYS,
        runs_file=runs_file,
        remaining_ms=REMAINING_MS,
        hang_key=hang_key,
    )
    return subprocess.Popen(
        command, cwd=REPO_ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )


def lines(runs_file: Path) -> list[str]:
    return runs_file.read_text(encoding="utf-8").splitlines() if runs_file.exists() else []


def wait_for_line(runs_file: Path, line: str, process: subprocess.Popen[str]) -> None:
    deadline = time.monotonic() + 30
    while line not in lines(runs_file):
        if process.poll() is not None:
            raise AssertionError(f"the worker exited early: {process.communicate()}")
        assert time.monotonic() < deadline, f"{line!r} never appeared"
        time.sleep(0.02)


def wait_for_in_progress_deadlines(dynamodb: DynamoDBClient, table: str) -> None:
    """Sleeps until every INPROGRESS lock of the table is past its holder's deadline."""
    items: list[dict[str, Any]] = dynamodb.scan(TableName=table, ConsistentRead=True)["Items"]
    deadlines = [
        int(item[schema.IN_PROGRESS_EXPIRY_ATTRIBUTE]["N"])
        for item in items
        if item[schema.STATUS_ATTRIBUTE]["S"] == "INPROGRESS"
    ]
    assert deadlines, "the killed worker left no lock in progress"
    wait = (max(deadlines) + 100) / 1000 - time.time()
    assert wait < REMAINING_MS / 1000 + 1, "a lock outlives its invocation's deadline"
    time.sleep(max(0.0, wait))


def test_sigkilled_worker_reruns_only_the_record_in_flight(
    moto_endpoint: str, dynamodb: DynamoDBClient, idempotency_table: str, tmp_path: Path
) -> None:
    runs_file = tmp_path / "runs.txt"
    killed = worker(moto_endpoint, idempotency_table, runs_file, hang_key=HANG_KEY)
    try:
        wait_for_line(runs_file, f"started {HANG_KEY}", killed)
        time.sleep(KILL_DELAY_SECONDS)
    finally:
        os.kill(killed.pid, signal.SIGKILL)
        killed.communicate()
    assert killed.returncode == -signal.SIGKILL
    finished_before_kill = {line.split()[1] for line in lines(runs_file) if "finished" in line}
    assert finished_before_kill == {"pay-1", "pay-2"}

    wait_for_in_progress_deadlines(dynamodb, idempotency_table)
    redelivery = worker(moto_endpoint, idempotency_table, runs_file)
    out, err = redelivery.communicate(timeout=60)
    assert redelivery.returncode == 0, err
    assert '"batchItemFailures": []' in out

    started = Counter(line.split()[1] for line in lines(runs_file) if line.startswith("started"))
    assert started == Counter({"pay-1": 1, "pay-2": 1, HANG_KEY: 2}), "only pay-3 ran again"
    assert f"finished {HANG_KEY}" in lines(runs_file)
