"""Kill a worker mid-batch, redeliver the batch, and count the records whose work ran again.

``kill_mid_batch(endpoint, table, impl)`` runs ``tests/integration/kill_worker.py`` (as
``python -m tests.integration.kill_worker`` from the checkout root) against the DynamoDB
endpoint with the keys ``k1,k2,k3``, ``k3``'s work hanging. Each record's work appends
``started <key>`` and then ``finished <key>`` to a runs file. Once ``started k3`` is there,
plus ``settle_seconds`` (0.5 s) for completions in flight to land, the worker is SIGKILLed,
as Lambda ends an invocation that reaches its timeout or runs out of memory. The records
started but not finished at that moment were in flight.

The batch is then redelivered: after the killed invocation's in-progress deadline has passed
(``--remaining-ms``, 3 s, from the first record's start, plus a second), the same worker runs
again without the hang, to its end. ``records_rerun`` counts the keys whose work started
again. The issue's bar: ``records_rerun <= records_in_flight``.
"""

from __future__ import annotations

import signal
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from tests.integration.kill_worker import worker_command

__all__ = ["KEYS", "KillResult", "kill_mid_batch", "kill_worker_available"]

ROOT = Path(__file__).resolve().parents[1]
KILL_WORKER = ROOT / "tests" / "integration" / "kill_worker.py"
KEYS = ("k1", "k2", "k3")
HANG_KEY = "k3"
_POLL_SECONDS = 0.02
_START_TIMEOUT_SECONDS = 60.0
_RERUN_TIMEOUT_SECONDS = 120.0


@dataclass(frozen=True)
class KillResult:
    """Which keys were in flight at the kill, and which ran again on redelivery."""

    in_flight: tuple[str, ...]
    rerun: tuple[str, ...]
    finished_before_kill: tuple[str, ...]

    @property
    def records_in_flight(self) -> int:
        return len(self.in_flight)

    @property
    def records_rerun(self) -> int:
        return len(self.rerun)


def kill_worker_available() -> bool:
    """Whether the checkout has the kill worker this scenario runs."""
    return KILL_WORKER.is_file()


def _events(runs_file: Path) -> list[tuple[str, str]]:
    """The (event, key) lines of the runs file so far, ``started``/``finished``."""
    if not runs_file.exists():
        return []
    lines = runs_file.read_text().splitlines()
    return [(event, key) for event, _, key in (line.partition(" ") for line in lines) if key]


def kill_mid_batch(
    endpoint: str,
    region: str,
    table: str,
    impl: str,
    *,
    remaining_ms: int = 3000,
    settle_seconds: float = 0.5,
) -> KillResult:
    """The kill scenario for ``impl`` (``ours`` or ``powertools``) on a fresh ``table``."""
    with tempfile.TemporaryDirectory(prefix="kill-mid-batch-") as folder:
        runs_file = Path(folder) / "runs.txt"
        command = worker_command(
            endpoint=endpoint,
            region=region,
            table=table,
            impl=impl,
            keys=KEYS,
            runs_file=runs_file,
            remaining_ms=remaining_ms,
        )
        worker = subprocess.Popen(
            [*command, "--hang-key", HANG_KEY], cwd=ROOT, stdout=subprocess.DEVNULL
        )
        try:
            first_start = _wait_for_hang(worker, runs_file)
            time.sleep(settle_seconds)
            at_kill = _events(runs_file)
            worker.send_signal(signal.SIGKILL)
        finally:
            if worker.poll() is None:
                worker.kill()
            worker.wait()
        started = {key for event, key in at_kill if event == "started"}
        finished = {key for event, key in at_kill if event == "finished"}
        # The lock of the killed invocation is free once its deadline has passed.
        time.sleep(max(0.0, first_start + remaining_ms / 1000 + 1.0 - time.monotonic()))
        seen = len(_events(runs_file))
        subprocess.run(
            command,
            cwd=ROOT,
            check=True,
            timeout=_RERUN_TIMEOUT_SECONDS,
            stdout=subprocess.DEVNULL,
        )
        rerun = {key for event, key in _events(runs_file)[seen:] if event == "started"}
    return KillResult(
        in_flight=tuple(sorted(started - finished)),
        rerun=tuple(sorted(rerun)),
        finished_before_kill=tuple(sorted(finished)),
    )


def _wait_for_hang(worker: subprocess.Popen[bytes], runs_file: Path) -> float:
    """Waits for ``started k3``; returns when the first record's start was first seen."""
    deadline = time.monotonic() + _START_TIMEOUT_SECONDS
    first_start: float | None = None
    while time.monotonic() < deadline:
        events = _events(runs_file)
        if events and first_start is None:
            first_start = time.monotonic()
        if ("started", HANG_KEY) in events and first_start is not None:
            return first_start
        if worker.poll() is not None:
            raise RuntimeError(
                f"the kill worker exited ({worker.returncode}) before {HANG_KEY} started: {events}"
            )
        time.sleep(_POLL_SECONDS)
    raise RuntimeError(f"{HANG_KEY} did not start within {_START_TIMEOUT_SECONDS:g} s")
