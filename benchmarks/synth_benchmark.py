"""Synth benchmark: wall time of synthesizing the reference app, whole and per stack.

Every measurement is a fresh ``python`` process, as ``cdk synth`` starts one: it runs the app
with the feature flags of ``cdk.json`` (passed the way the CDK CLI passes them, in
``CDK_CONTEXT_JSON``) and writes the cloud assembly to a new temporary ``CDK_OUTDIR``. The
cdk-nag packs (``add_checks``) run in every synth, as in ``app.py``. Baseline rows show where
the time goes: interpreter start, importing aws_cdk (which starts the jsii node kernel) and
importing this library.

Run: ``python benchmarks/synth_benchmark.py [--repeat N] [--warmup N]``.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]

#: Prints the reference app's stacks as JSON: id, module and class of each.
_DISCOVER = """\
import json
from aws_cdk import App
from serverless_patterns.stacks import build_reference_app

stacks = build_reference_app(App())
print(json.dumps([
    {"id": s.node.id, "module": type(s).__module__, "qualname": type(s).__qualname__}
    for s in stacks
]))
"""

#: Synthesizes one stack class alone: ``python -c _ONE_STACK <module> <class> <stack id>``.
_ONE_STACK = """\
import importlib
import sys
from aws_cdk import App
from serverless_patterns.checks import add_checks

module, qualname, stack_id = sys.argv[1:4]
stack_class = importlib.import_module(module)
for part in qualname.split("."):
    stack_class = getattr(stack_class, part)
app = App()
stack_class(app, stack_id)
add_checks(app)
app.synth()
"""


@dataclass(frozen=True)
class Case:
    """One command to time; ``synthesizes`` cases get a fresh CDK_OUTDIR per run."""

    name: str
    command: list[str]
    synthesizes: bool = False


@dataclass(frozen=True)
class Result:
    name: str
    seconds: list[float]

    @property
    def median(self) -> float:
        return statistics.median(self.seconds)

    @property
    def minimum(self) -> float:
        return min(self.seconds)


def _base_env() -> dict[str, str]:
    env = dict(os.environ)
    env["JSII_SILENCE_WARNING_DEPRECATED_NODE_VERSION"] = "1"
    env.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")  # as tests/conftest.py
    env["CDK_DISABLE_VERSION_CHECK"] = "1"
    context = json.loads((REPO_ROOT / "cdk.json").read_text()).get("context", {})
    env["CDK_CONTEXT_JSON"] = json.dumps(context)
    env.pop("CDK_OUTDIR", None)
    return env


def _run(command: Sequence[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(
        list(command), cwd=REPO_ROOT, env=env, capture_output=True, text=True, check=False
    )
    if result.returncode != 0:
        raise RuntimeError(
            f"{' '.join(command)} failed ({result.returncode}):\n{result.stderr[-3000:]}"
        )
    return result


@dataclass(frozen=True)
class Timing:
    """One run: wall seconds, and CPU seconds (user + system) of the process and every
    process it waited for, the jsii node kernel included."""

    wall: float
    cpu: float


def _cpu_of_children() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def timing_once(case: Case, env: dict[str, str]) -> Timing:
    """Runs ``case`` once in a fresh process (a fresh ``CDK_OUTDIR`` when it synthesizes)."""
    with tempfile.TemporaryDirectory(prefix="synth-bench-") as outdir:
        run_env = {**env, "CDK_OUTDIR": outdir} if case.synthesizes else env
        cpu_before = _cpu_of_children()
        start = time.perf_counter()
        _run(case.command, run_env)
        elapsed = time.perf_counter() - start
        cpu = _cpu_of_children() - cpu_before
        if case.synthesizes and not any(Path(outdir).glob("*.template.json")):
            raise RuntimeError(f"{case.name}: no template was synthesized")
    return Timing(elapsed, cpu)


def _time_once(case: Case, env: dict[str, str]) -> float:
    return timing_once(case, env).wall


def measure(case: Case, *, repeat: int, warmup: int, env: dict[str, str]) -> Result:
    for _ in range(warmup):
        _time_once(case, env)
    return Result(case.name, [_time_once(case, env) for _ in range(repeat)])


def reference_stacks(env: dict[str, str]) -> list[dict[str, str]]:
    """The stacks ``build_reference_app`` creates, found by building the app once."""
    stacks: list[dict[str, str]] = json.loads(
        _run([sys.executable, "-c", _DISCOVER], env).stdout.strip().splitlines()[-1]
    )
    return stacks


def cases(stacks: list[dict[str, str]]) -> list[Case]:
    python = sys.executable
    return [
        Case("baseline: python -c pass", [python, "-c", "pass"]),
        Case("baseline: import aws_cdk", [python, "-c", "import aws_cdk"]),
        Case(
            "baseline: import aws_cdk + this library",
            [python, "-c", "import serverless_patterns.stacks, serverless_patterns.checks"],
        ),
        Case("synth: app.py (whole reference app)", [python, "app.py"], synthesizes=True),
        *(
            Case(
                f"synth: {stack['id']} alone",
                [python, "-c", _ONE_STACK, stack["module"], stack["qualname"], stack["id"]],
                synthesizes=True,
            )
            for stack in stacks
        ),
    ]


def format_table(results: list[Result], *, repeat: int, warmup: int) -> str:
    width = max(len(result.name) for result in results)
    lines = [
        f"Synth wall time, fresh process per run ({repeat} runs after {warmup} warm-up)",
        f"{'case':<{width}}  {'median s':>9}  {'min s':>7}",
        f"{'-' * width}  {'-' * 9}  {'-' * 7}",
    ]
    lines += [
        f"{result.name:<{width}}  {result.median:>9.2f}  {result.minimum:>7.2f}"
        for result in results
    ]
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--repeat", type=int, default=5, help="timed runs per case (default 5)")
    parser.add_argument("--warmup", type=int, default=1, help="untimed runs first (default 1)")
    args = parser.parse_args(argv)
    env = _base_env()
    results = [
        measure(case, repeat=args.repeat, warmup=args.warmup, env=env)
        for case in cases(reference_stacks(env))
    ]
    print(format_table(results, repeat=args.repeat, warmup=args.warmup))
    return 0


if __name__ == "__main__":
    sys.exit(main())
