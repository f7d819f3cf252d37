"""Runs every benchmark and prints its tables: ``make bench``.

Each benchmark runs as its own process, one after the other, so none is timed while another
(or a jsii kernel left over from another) is busy.

Run: ``python benchmarks/run_all.py [--repeat N]`` (N is passed to every benchmark; default:
each benchmark's own).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path

BENCHMARKS = Path(__file__).resolve().parent
SCRIPTS = [
    "synth_benchmark.py",
    "library_cost_benchmark.py",
    "import_benchmark.py",
    "idempotency_benchmark.py",
    "idempotency_floor.py",
    "publisher_benchmark.py",
]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--repeat", type=int, help="runs per case for every benchmark")
    args = parser.parse_args(argv)
    extra = [] if args.repeat is None else ["--repeat", str(args.repeat)]
    env = {**os.environ, "JSII_SILENCE_WARNING_DEPRECATED_NODE_VERSION": "1"}
    env.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")  # as tests/conftest.py
    failed = []
    for script in SCRIPTS:
        print(f"== {script}", flush=True)
        start = time.perf_counter()
        result = subprocess.run(
            [sys.executable, str(BENCHMARKS / script), *extra],
            cwd=BENCHMARKS.parent,
            env=env,
            check=False,
        )
        print(f"({script} took {time.perf_counter() - start:.0f} s)\n", flush=True)
        if result.returncode != 0:
            failed.append(script)
    if failed:
        print(f"failed: {', '.join(failed)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
