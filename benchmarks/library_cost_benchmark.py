"""Library cost benchmark (issue 15): what this library adds to import and synth time.

Three ratios, each from paired runs: every pair runs the subject and the anchor back to back,
each in a fresh ``python`` process, alternating which goes first. Printed: the wall-time
medians of each side and their ratio, the median of the pairs' own wall-time ratios, the
median of the pairs' CPU-time ratios (user + system of the process and the jsii node kernel it
starts), and the load average before and after. The verdict reads the CPU-time pair ratio:
what the library's code costs, without the waits for a CPU that make one wall-time run vary
by up to 1.5x on a busy two-core machine; the wall-time ratios are shown next to it.

1. Import (target <= 1.1x): ``from serverless_patterns.constructs import X`` for QueueWorker
   and EventBusFanOut vs ``import`` of exactly the public aws_cdk submodules importing X loads
   (found in a discovery process from ``sys.modules``, and printed).
2. Synth (target <= 1.05x): ``benchmarks/twins/library.py`` (QueueWorkers, an EventBusFanOut
   rule with a queue target, an AlarmTopic) vs its hand-written L2 twin
   ``benchmarks/twins/hand_written.py``, which defines the same resources
   (``tests/benchmarks/test_twins.py`` keeps them equal). Neither adds the checks.
3. Checks (target <= 1.15x): the reference app (``app.py``) with the checks ``add_checks``
   adds vs without them. A driver runs ``app.py`` unchanged; its first argument (read by the
   driver only) is ``all``, ``none`` (``serverless_patterns.checks`` is replaced by a module
   whose ``add_checks`` does nothing, so cdk-nag is not even imported) or the packs to keep
   (for example ``AwsSolutionsChecks``). Then each pack alone against no checks (a third
   as many pairs, at least 3; each pack alone pays cdk-nag's import, so the three do not
   add up to the whole), and a cProfile of the synth with every check, top entries printed.

Synths run as ``cdk synth`` runs an app: ``CDK_CONTEXT_JSON`` from ``cdk.json`` and a fresh
``CDK_OUTDIR`` per run (``benchmarks/synth_benchmark.py``'s helpers).

Run: ``python benchmarks/library_cost_benchmark.py [--repeat N]`` (default 7 pairs).
"""

from __future__ import annotations

import argparse
import io
import json
import os
import pstats
import statistics
import sys
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

# Run as a script, sys.path starts with benchmarks/; the checkout root makes the package-style
# imports below work as they do for mypy.
sys.path.insert(1, str(Path(__file__).resolve().parents[1]))

from benchmarks.report import machine, plain_table
from benchmarks.synth_benchmark import Case, Timing, _base_env, _run, _time_once, timing_once

PYTHON = sys.executable
IMPORTED_CONSTRUCTS = ("QueueWorker", "EventBusFanOut")
PACKS = ("AwsSolutionsChecks", "ServerlessChecks", "ServerlessPatternsChecks")
TARGETS = {"import": 1.1, "synth": 1.05, "checks": 1.15}

#: Prints the public aws_cdk modules that importing one construct loads.
_DISCOVER_IMPORTS = """\
import json, sys
from serverless_patterns.constructs import {name}
print(json.dumps(sorted(
    module for module in sys.modules
    if module.startswith("aws_cdk.") and not any(p.startswith("_") for p in module.split("."))
)))
"""

#: ``python -c _APP_DRIVER <all|none|pack,...> [profile file]``: runs app.py with all, none or
#: some of the checks, under cProfile when given a file.
_APP_DRIVER = """\
import runpy, sys, types
checks = sys.argv[1]
if checks == "none":
    stub = types.ModuleType("serverless_patterns.checks")
    stub.add_checks = lambda app, **options: None
    sys.modules["serverless_patterns.checks"] = stub
elif checks != "all":
    from aws_cdk import Validations
    keep, add_plugins = set(checks.split(",")), Validations.add_plugins
    Validations.add_plugins = lambda self, *plugins: add_plugins(
        self, *[plugin for plugin in plugins if type(plugin).__name__ in keep]
    )
if len(sys.argv) > 2:
    import cProfile
    cProfile.runctx('runpy.run_path("app.py", run_name="__main__")', globals(), {}, sys.argv[2])
else:
    runpy.run_path("app.py", run_name="__main__")
"""


@dataclass(frozen=True)
class Pairing:
    """Paired runs of a subject and its anchor (run ``i`` of each side is pair ``i``)."""

    name: str
    subject: list[Timing]
    anchor: list[Timing]
    load_before: tuple[float, float, float]
    load_after: tuple[float, float, float]
    target: float

    def median(self, side: list[Timing]) -> float:
        """The median wall time of one side."""
        return statistics.median(t.wall for t in side)

    @property
    def ratio(self) -> float:
        """The ratio of the wall-time medians."""
        return self.median(self.subject) / self.median(self.anchor)

    @property
    def pair_ratio(self) -> float:
        """The median of each pair's subject / anchor wall-time ratio."""
        return statistics.median(
            s.wall / a.wall for s, a in zip(self.subject, self.anchor, strict=True)
        )

    @property
    def cpu_ratio(self) -> float:
        """The median of each pair's subject / anchor CPU-time ratio (the verdict's figure)."""
        return statistics.median(
            s.cpu / a.cpu for s, a in zip(self.subject, self.anchor, strict=True)
        )


def paired(
    name: str, subject: Case, anchor: Case, *, target: float, repeat: int, env: dict[str, str]
) -> Pairing:
    """Times ``repeat`` pairs after one untimed pair; odd pairs run the anchor first."""
    _time_once(subject, env)
    _time_once(anchor, env)
    load_before = os.getloadavg()
    times: dict[str, list[Timing]] = {subject.name: [], anchor.name: []}
    for index in range(repeat):
        order = (subject, anchor) if index % 2 == 0 else (anchor, subject)
        for case in order:
            times[case.name].append(timing_once(case, env))
    return Pairing(
        name,
        times[subject.name],
        times[anchor.name],
        load_before,
        os.getloadavg(),
        target,
    )


def _load(load: tuple[float, float, float]) -> str:
    return " ".join(f"{value:.2f}" for value in load)


def pairing_table(title: str, pairings: Sequence[Pairing], repeat: int) -> str:
    rows = [
        [
            pairing.name,
            f"{pairing.median(pairing.subject):.2f}",
            f"{pairing.median(pairing.anchor):.2f}",
            f"{pairing.ratio:.3f}",
            f"{pairing.pair_ratio:.3f}",
            f"{pairing.cpu_ratio:.3f}",
            f"<= {pairing.target}",
            "PASS" if pairing.cpu_ratio <= pairing.target else "MISS",
            _load(pairing.load_before),
            _load(pairing.load_after),
        ]
        for pairing in pairings
    ]
    return plain_table(
        f"{title} (medians of {repeat} pairs, fresh process per run; {machine()})",
        [
            "comparison",
            "subject s",
            "anchor s",
            "wall: ratio of medians",
            "pair ratio",
            "CPU: pair ratio",
            "target",
            "",
            "load before",
            "after",
        ],
        rows,
    )


# --- 1. import ----------------------------------------------------------------------------


def aws_cdk_modules(name: str, env: dict[str, str]) -> list[str]:
    """The public aws_cdk modules that ``from serverless_patterns.constructs import name``
    loads, read from ``sys.modules`` of a discovery process."""
    output = _run([PYTHON, "-c", _DISCOVER_IMPORTS.format(name=name)], env).stdout
    modules: list[str] = json.loads(output.strip().splitlines()[-1])
    return modules


def measure_imports(repeat: int, env: dict[str, str]) -> str:
    pairings, lines = [], []
    for name in IMPORTED_CONSTRUCTS:
        modules = aws_cdk_modules(name, env)
        lines.append(f"{name} loads {len(modules)} aws_cdk modules: {', '.join(modules)}")
        pairings.append(
            paired(
                f"import {name} / its aws_cdk modules",
                Case(name, [PYTHON, "-c", f"from serverless_patterns.constructs import {name}"]),
                Case(f"{name} anchor", [PYTHON, "-c", f"import {', '.join(modules)}"]),
                target=TARGETS["import"],
                repeat=repeat,
                env=env,
            )
        )
    return "\n".join([pairing_table("1. Import", pairings, repeat), *lines])


# --- 2. synth vs the hand-written twin ------------------------------------------------------


def measure_twins(repeat: int, env: dict[str, str]) -> str:
    from serverless_patterns.constructs._runtime_asset import stage_runtime

    pairing = paired(
        "synth library stack / hand-written twin",
        Case("library", [PYTHON, "-m", "benchmarks.twins.library"], synthesizes=True),
        Case(
            "hand-written",
            [PYTHON, "-m", "benchmarks.twins.hand_written", str(stage_runtime())],
            synthesizes=True,
        ),
        target=TARGETS["synth"],
        repeat=repeat,
        env=env,
    )
    return pairing_table("2. Synth vs hand-written twin", [pairing], repeat)


# --- 3. checks ------------------------------------------------------------------------------


def _app_case(name: str, checks: str, *extra: str) -> Case:
    return Case(name, [PYTHON, "-c", _APP_DRIVER, checks, *extra], synthesizes=True)


def measure_checks(repeat: int, env: dict[str, str]) -> str:
    """The paired comparison of the app with and without every check."""
    pairing = paired(
        "synth app.py with checks / without",
        _app_case("app.py with checks", "all"),
        _app_case("app.py without checks", "none"),
        target=TARGETS["checks"],
        repeat=repeat,
        env=env,
    )
    return pairing_table("3. Checks", [pairing], repeat)


def profile_checks(repeat: int, env: dict[str, str], top: int = 25) -> str:
    """Each pack alone against no checks (``repeat`` pairs each), then a cProfile of the
    synth with every check."""
    pairings = [
        paired(
            f"{pack} alone / no checks",
            _app_case(pack, pack),
            _app_case("no checks", "none"),
            target=TARGETS["checks"],
            repeat=repeat,
            env=env,
        )
        for pack in PACKS
    ]
    packs = pairing_table("Checks, one pack at a time", pairings, repeat)
    with tempfile.TemporaryDirectory(prefix="checks-profile-") as folder:
        stats_file = str(Path(folder) / "checks.prof")
        _time_once(_app_case("profile", "all", stats_file), env)
        text = io.StringIO()
        stats = pstats.Stats(stats_file, stream=text).strip_dirs()
        stats.sort_stats("cumulative").print_stats(top)
        stats.sort_stats("tottime").print_stats(top)
    profile = "\n".join(line for line in text.getvalue().splitlines() if line.strip())
    title = f"cProfile of app.py with every check (top {top} by cumulative, then own time)"
    return f"{packs}\n\n{title}\n{profile}"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--repeat", type=int, default=7, help="pairs per comparison (default 7)")
    args = parser.parse_args(argv)
    env = _base_env()
    print(measure_imports(args.repeat, env), end="\n\n", flush=True)
    print(measure_twins(args.repeat, env), end="\n\n", flush=True)
    print(measure_checks(args.repeat, env), end="\n\n", flush=True)
    print(profile_checks(max(3, args.repeat // 3), env))
    return 0


if __name__ == "__main__":
    sys.exit(main())
