"""Mutation testing of the runtime with cosmic-ray; prints a score per module.

    python tools/mutation/run.py                       # every module of config.toml
    python tools/mutation/run.py batch.py events/publisher.py --jobs 2
    python tools/mutation/run.py --retry-survivors batch.py   # after adding tests
    python tools/mutation/run.py --report-only                # the last run's table again

``MUTATION_SCRATCH`` moves the work folder (default ``build/mutation``), so runs can overlap.

For each module of ``config.toml``: copy the package into ``build/mutation/<module>/`` (src/
linked, runtime/ copied), so mutants never touch the working tree other people and processes
use; put that copy first on ``PYTHONPATH`` (the editable install's finder comes after
``sys.path``, so ``serverless_patterns.runtime`` is imported from the copy); check that the
module really is imported from there, that its tests pass unmutated, and that they fail when
the module is broken (a canary); then let cosmic-ray apply one mutation at a time to the copy
and run the module's tests against it. A mutant is killed when the tests fail or time out.

Writes ``build/mutation/report.md``: the table and every surviving mutant's diff.
Exit status 1 if a check fails; the scores themselves are reported, not enforced.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import time
import tomllib
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from annotations import skip_annotation_mutants
from cosmic_ray.work_db import WorkDB, WorkResultStorage, use_db
from cosmic_ray.work_item import TestOutcome, WorkerOutcome

REPO = Path(__file__).resolve().parents[2]
HERE = Path(__file__).resolve().parent
SCRATCH = Path(os.environ.get("MUTATION_SCRATCH", REPO / "build" / "mutation"))
PACKAGE = "serverless_patterns"
CANARY = '\nraise RuntimeError("mutation canary: this copy of the module is imported")\n'


class CheckFailed(Exception):
    """A precondition of a meaningful mutation run does not hold."""


@dataclass
class Score:
    """What the run of one module found."""

    module: str
    killed: int = 0
    timed_out: int = 0  # among the killed: a load spike can stretch a surviving run past it
    survived: int = 0
    skipped: int = 0
    seconds: float = 0.0
    survivors: list[str] = field(default_factory=list)

    @property
    def mutants(self) -> int:
        return self.killed + self.survived

    @property
    def percent(self) -> float:
        return 100.0 * self.killed / self.mutants if self.mutants else 100.0


def build_copy(root: Path) -> Path:
    """``root/serverless_patterns``: src/'s entries linked, runtime/ copied; returns the
    folder to put on ``PYTHONPATH``."""
    shutil.rmtree(root, ignore_errors=True)
    package = root / "pkg" / PACKAGE
    package.mkdir(parents=True)
    for entry in (REPO / "src").iterdir():
        if entry.name != "__pycache__":
            (package / entry.name).symlink_to(entry)
    shutil.copytree(
        REPO / "runtime", package / "runtime", ignore=shutil.ignore_patterns("__pycache__")
    )
    return root / "pkg"


def environment(pythonpath: Path) -> dict[str, str]:
    """The test processes' environment: the copy first, then the repository (for tests.*)."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(pythonpath), str(REPO)])
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    # Only the plugins named on the command line: the installed ones cost seconds per run.
    env["PYTEST_DISABLE_PLUGIN_AUTOLOAD"] = "1"
    env.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")
    return env


def test_command(tests: list[str]) -> list[str]:
    """pytest over ``tests``, stopping at the first failure, without the CDK conftest."""
    return [
        sys.executable,
        "-m",
        "pytest",
        "-x",
        "-q",
        "-p",
        "no:cacheprovider",
        "--noconftest",
        "-p",
        "tests.moto_fixtures",
        *tests,
    ]


def run(command: list[str], env: dict[str, str], timeout: float | None = None) -> int:
    """Exit status of ``command`` run in the repository."""
    done = subprocess.run(
        command, cwd=REPO, env=env, capture_output=True, text=True, timeout=timeout, check=False
    )
    return done.returncode


def check_copy(module_name: str, target: Path, env: dict[str, str], tests: list[str]) -> float:
    """Raises CheckFailed unless the module is imported from the copy, its tests pass there and
    fail on the canary; returns the unmutated run's seconds."""
    code = f"import {module_name} as m; print(m.__file__)"
    imported = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO, env=env, capture_output=True, text=True, check=True
    ).stdout.strip()
    if Path(imported).resolve() != target.resolve():
        raise CheckFailed(f"{module_name} is imported from {imported}, not from {target}")
    started = time.monotonic()
    if run(test_command(tests), env) != 0:
        raise CheckFailed(f"the tests of {module_name} fail without any mutation: {tests}")
    seconds = time.monotonic() - started
    original = target.read_text(encoding="utf-8")
    try:
        target.write_text(original + CANARY, encoding="utf-8")
        if run(test_command(tests), env) == 0:
            raise CheckFailed(f"the tests of {module_name} pass with the module broken: {tests}")
    finally:
        target.write_text(original, encoding="utf-8")
    return seconds


def cosmic_ray_config(target: Path, tests: list[str], timeout: float, exclude: list[str]) -> str:
    """A cosmic-ray session configuration (TOML) for one module."""
    lines = [
        "[cosmic-ray]",
        f"module-path = {str(target)!r}",
        f"timeout = {timeout:.1f}",
        "excluded-modules = []",
        f"test-command = {' '.join(test_command(tests))!r}",
        "[cosmic-ray.distributor]",
        'name = "local"',
        "[cosmic-ray.filters.operators-filter]",
        "exclude-operators = [" + ", ".join(f"'{pattern}'" for pattern in exclude) + "]",
    ]
    return "\n".join(lines) + "\n"


def scratch_of(relative: str) -> Path:
    """The folder of one module's copy and cosmic-ray session."""
    return SCRATCH / relative.replace("/", "_").removesuffix(".py")


def mutate(module: dict[str, object], settings: dict[str, dict[str, object]]) -> Score:
    """Runs every mutant of one module; returns its score."""
    relative = str(module["path"])
    tests = [str(test) for test in module["tests"]]  # type: ignore[attr-defined]
    root = scratch_of(relative)
    pythonpath = build_copy(root)
    target = pythonpath / PACKAGE / "runtime" / relative
    shutil.copyfile(target, root / "original.py")  # for --retry-survivors
    module_name = f"{PACKAGE}.runtime." + relative.removesuffix(".py").replace("/", ".")
    env = environment(pythonpath)
    started = time.monotonic()
    baseline = check_copy(module_name, target, env, tests)
    run_settings = settings["run"]
    timeout = max(
        float(run_settings["timeout_floor"]),  # type: ignore[arg-type]
        float(run_settings["timeout_factor"]) * baseline,  # type: ignore[arg-type]
    )
    exclude = [str(p) for p in settings["operators"]["exclude"]]  # type: ignore[attr-defined]
    config = root / "cosmic-ray.toml"
    config.write_text(cosmic_ray_config(target, tests, timeout, exclude), encoding="utf-8")
    session = root / "session.sqlite"
    cosmic_ray = [sys.executable, "-m", "cosmic_ray.cli"]
    for step in (
        [*cosmic_ray, "init", str(config), str(session)],
        [
            sys.executable,
            "-m",
            "cosmic_ray.tools.filters.operators_filter",
            str(session),
            str(config),
        ],
    ):
        if run(step, env) != 0:
            raise CheckFailed(f"{' '.join(step)} failed")
    skip_annotation_mutants(session, target)
    if run([*cosmic_ray, "exec", str(config), str(session)], env) != 0:
        raise CheckFailed(f"cosmic-ray exec failed for {relative}")
    return score_of(relative, session, time.monotonic() - started)


def retry_survivors(module: dict[str, object], settings: dict[str, dict[str, object]]) -> Score:
    """Runs the survivors of an earlier run of one module again, against the module's tests as
    config.toml lists them now; the module's copy, its mutants and the rest of the results are
    kept. Tests are only ever added, so what was killed stays killed."""
    relative = str(module["path"])
    tests = [str(test) for test in module["tests"]]  # type: ignore[attr-defined]
    root = scratch_of(relative)
    session = root / "session.sqlite"
    config = root / "cosmic-ray.toml"
    earlier = tomllib.loads(config.read_text(encoding="utf-8"))["cosmic-ray"]
    exclude = [str(p) for p in settings["operators"]["exclude"]]  # type: ignore[attr-defined]
    target = Path(earlier["module-path"])
    # A run stopped by a signal leaves its last mutant in place (cosmic-ray restores the module
    # only when the test run ends).
    shutil.copyfile(root / "original.py", target)
    config.write_text(
        cosmic_ray_config(target, tests, earlier["timeout"], exclude), encoding="utf-8"
    )
    started = time.monotonic()
    with use_db(str(session), WorkDB.Mode.open) as db:
        survived = [
            item.job_id for item, r in db.completed_work_items if r.test_outcome == "survived"
        ]
        with db._session_maker.begin() as transaction:  # cosmic-ray has no public "forget"
            transaction.query(WorkResultStorage).filter(
                WorkResultStorage.job_id.in_(survived)
            ).delete()
    env = environment(root / "pkg")
    if run([sys.executable, "-m", "cosmic_ray.cli", "exec", str(config), str(session)], env):
        raise CheckFailed(f"cosmic-ray exec failed for {relative}")
    return score_of(relative, session, time.monotonic() - started)


def score_of(relative: str, session: Path, seconds: float) -> Score:
    """The score of one module's finished cosmic-ray session."""
    score = Score(relative, seconds=seconds)
    with use_db(str(session), WorkDB.Mode.open) as db:
        for item, result in db.completed_work_items:
            if result.worker_outcome in (WorkerOutcome.SKIPPED, WorkerOutcome.NO_TEST):
                score.skipped += 1
            elif result.test_outcome == TestOutcome.SURVIVED:
                score.survived += 1
                mutation = item.mutations[0]
                score.survivors.append(
                    f"{mutation.operator_name} at line {mutation.start_pos[0]}\n{result.diff}"
                )
            else:  # killed, timed out, or the mutant broke the tests' imports
                score.killed += 1
                score.timed_out += result.output == "timeout"
    return score


def table(scores: list[Score]) -> str:
    """The per-module table, in markdown."""
    rows = [
        "| module | mutants | killed | survived | score | killed by timeout | seconds |",
        "|---|---|---|---|---|---|---|",
    ]
    rows += [
        f"| runtime/{s.module} | {s.mutants} | {s.killed} | {s.survived} | {s.percent:.1f}% "
        f"| {s.timed_out} | {s.seconds:.0f} |"
        for s in scores
    ]
    return "\n".join(rows)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("modules", nargs="*", help="paths below runtime/ (default: all)")
    parser.add_argument("--config", type=Path, default=HERE / "config.toml")
    parser.add_argument("--jobs", type=int, default=2, help="modules mutated at once")
    parser.add_argument(
        "--report-only", action="store_true", help="score the sessions of an earlier run"
    )
    parser.add_argument(
        "--retry-survivors",
        action="store_true",
        help="run an earlier run's survivors again against the current tests",
    )
    args = parser.parse_args(argv)
    settings = tomllib.loads(args.config.read_text(encoding="utf-8"))
    modules = [m for m in settings["module"] if not args.modules or m["path"] in args.modules]
    unknown = set(args.modules) - {m["path"] for m in modules}
    if unknown:
        parser.error(f"not in {args.config}: {', '.join(sorted(unknown))}")
    started = time.monotonic()
    try:
        if args.report_only:
            scores = [
                score_of(m["path"], scratch_of(m["path"]) / "session.sqlite", 0.0) for m in modules
            ]
        else:
            run_module = retry_survivors if args.retry_survivors else mutate
            with ThreadPoolExecutor(max_workers=args.jobs) as pool:
                scores = list(pool.map(lambda module: run_module(module, settings), modules))
    except CheckFailed as exc:
        print(f"mutation: {exc}", file=sys.stderr)
        return 1
    report = table(scores)
    survivors = "\n\n".join(
        f"### runtime/{s.module}\n\n" + "\n".join(f"```diff\n{d}\n```" for d in s.survivors)
        for s in scores
        if s.survivors
    )
    SCRATCH.mkdir(parents=True, exist_ok=True)
    (SCRATCH / "report.md").write_text(
        f"{report}\n\n## Surviving mutants\n\n{survivors}\n", encoding="utf-8"
    )
    print(report)
    print(
        f"\n{sum(s.mutants for s in scores)} mutants in {time.monotonic() - started:.0f} s; "
        f"surviving diffs in {SCRATCH / 'report.md'}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
