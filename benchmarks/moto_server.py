"""A moto server in a child process, and the dummy AWS environment the benchmarks run in.

``moto_server()`` starts a ``ThreadedMotoServer`` on a free port of 127.0.0.1 in a child
process, so that its CPU does not share the benchmark's GIL with the clients it serves (as the
real services do not), and yields a ``MotoServer``: its ``port``, its process id and
``cpu_seconds()``, the CPU time the server process has used (Linux ``/proc``, 10 ms clock
ticks). The child stops when its stdin closes, on leaving the ``with`` block.

``dummy_aws_environment()`` sets dummy credentials and ``REGION`` in ``os.environ`` and removes
the profile and endpoint variables, so that nothing a benchmark does may ever reach AWS.

::

    dummy_aws_environment()
    with moto_server() as server:
        client = boto3.client("events", endpoint_url=server.endpoint, region_name=REGION)
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

__all__ = ["REGION", "MotoServer", "dummy_aws_environment", "moto_server"]

REGION = "us-east-1"

_CLOCK_TICKS = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100

#: Starts a ThreadedMotoServer on a free port in a child process, prints the port, and stops
#: when its stdin closes.
_MOTO_SERVER = """\
import logging, sys
logging.getLogger("werkzeug").setLevel(logging.ERROR)
from moto.server import ThreadedMotoServer
server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
server.start()
print(server.get_host_and_port()[1], flush=True)
sys.stdin.read()
server.stop()
"""


def dummy_aws_environment(*, unset: Iterable[str] = (), **extra: str) -> None:
    """Dummy credentials and region: nothing here may ever reach AWS.

    Also removes the variables named in ``unset`` and sets those given as ``extra``.
    """
    for name in ("AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_ENDPOINT_URL", *unset):
        os.environ.pop(name, None)
    os.environ.update(
        {
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_SESSION_TOKEN": "testing",
            "AWS_DEFAULT_REGION": REGION,
            "AWS_REGION": REGION,
            "NO_PROXY": ",".join(filter(None, ["127.0.0.1", os.environ.get("NO_PROXY")])),
            **extra,
        }
    )


@dataclass(frozen=True)
class MotoServer:
    """The moto server child process: its port on 127.0.0.1 and its process id."""

    port: int
    pid: int

    @property
    def endpoint(self) -> str:
        """``http://127.0.0.1:<port>``, for ``endpoint_url``."""
        return f"http://127.0.0.1:{self.port}"

    def cpu_seconds(self) -> float | None:
        """CPU time the server process has used (Linux ``/proc``, clock ticks); None elsewhere."""
        try:
            fields = Path(f"/proc/{self.pid}/stat").read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            return None
        return (int(fields[11]) + int(fields[12])) / _CLOCK_TICKS  # utime + stime


@contextmanager
def moto_server() -> Iterator[MotoServer]:
    """A ThreadedMotoServer on 127.0.0.1 in a child process."""
    process = subprocess.Popen(
        [sys.executable, "-c", _MOTO_SERVER],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        if not line.strip().isdigit():
            raise RuntimeError(f"the moto server did not start (printed {line!r})")
        yield MotoServer(int(line), process.pid)
    finally:
        if process.stdin is not None:
            process.stdin.close()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
