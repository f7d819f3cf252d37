"""Cold-import benchmark of each handler module, and the zipped asset size of each function.

Each handler module under ``runtime/handlers`` is imported from the staged Lambda asset
(``stage_runtime()``, the folder ``runtime_code()`` deploys) in a fresh interpreter with
``-X importtime``; the anchor is ``import boto3``, which every Python Lambda handler that talks
to AWS pays anyway.

The child interpreter is built to see what Lambda sees and nothing else:

* ``-I`` (isolated: no PYTHON* variables, no user site, no script folder on sys.path) and
  ``-S`` (no ``site``): the checkout is unreachable, including through the editable install's
  ``.pth`` finder, which only ``site`` would load.
* sys.path is then set explicitly, like Lambda's: the staged asset first (``/var/task``), the
  standard library, and last this venv's site-packages as a plain folder (where boto3 lives,
  like the runtime's own boto3; its ``.pth`` files are not run).
* ``-B``: nothing is written to the staged folder. Our asset ships no ``.pyc`` and
  ``/var/task`` is read-only, so Lambda compiles the handler sources on every cold start; the
  measurement includes that compile, as Lambda does. boto3 is read from its existing ``.pyc``,
  as in the Lambda runtime.

Figures are from a bare interpreter: Lambda's bootstrap has already imported ``json`` and
``logging`` before it imports a handler, so in Lambda the handler costs at most this.

Run: ``python benchmarks/import_benchmark.py [--repeat N]``.
"""

from __future__ import annotations

import argparse
import io
import pkgutil
import re
import statistics
import subprocess
import sys
import sysconfig
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

# Run as a script, sys.path starts with benchmarks/; the checkout root makes the package-style
# import below work as it does for mypy.
sys.path.insert(1, str(Path(__file__).resolve().parents[1]))

from benchmarks.report import plain_table

#: One line of ``-X importtime`` output: self and cumulative microseconds, indented name.
_IMPORTTIME_LINE = re.compile(r"^import time:\s*(\d+) \|\s*(\d+) \| *(\S.*?)\s*$")
_ANCHOR = "boto3"


@dataclass(frozen=True)
class ImportRecord:
    self_us: int
    cumulative_us: int
    name: str


@dataclass(frozen=True)
class ImportRun:
    """One cold import: the module's cumulative time (``-X importtime`` nests its parent
    packages and everything they pull in under it) and all imports of the process, interpreter
    start-up included.
    """

    module_us: int
    process_us: int


def parse_importtime(stderr: str) -> list[ImportRecord]:
    records = []
    for line in stderr.splitlines():
        match = _IMPORTTIME_LINE.match(line)
        if match:
            self_us, cumulative_us, name = match.groups()
            records.append(ImportRecord(int(self_us), int(cumulative_us), name))
    return records


def _child_code(module: str, staged: Path, site_packages: str) -> str:
    return (
        f"import sys; sys.path[:0] = [{str(staged)!r}]; sys.path.append({site_packages!r}); "
        f"import {module}; print(sys.modules[{module!r}].__file__)"
    )


def _run_child(code: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-I", "-S", "-B", "-X", "importtime", "-c", code]
    result = subprocess.run(command, cwd=cwd, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise RuntimeError(f"{code!r} failed ({result.returncode}):\n{result.stderr[-3000:]}")
    return result


class ImportTimer:
    """Times cold imports in children that see only the staged asset and site-packages."""

    def __init__(self, staged: Path) -> None:
        self.staged = staged
        self.site_packages = sysconfig.get_paths()["purelib"]

    def once(self, module: str, expected_root: Path) -> ImportRun:
        result = _run_child(_child_code(module, self.staged, self.site_packages), self.staged)
        origin = Path(result.stdout.strip().splitlines()[-1]).resolve()
        if not origin.is_relative_to(expected_root.resolve()):
            raise RuntimeError(f"{module} was imported from {origin}, not from {expected_root}")
        records = parse_importtime(result.stderr)
        own = [record.cumulative_us for record in records if record.name == module]
        if not own:
            raise RuntimeError(f"{module} does not appear in the importtime output")
        return ImportRun(module_us=own[0], process_us=sum(record.self_us for record in records))

    def median(self, module: str, expected_root: Path, repeat: int) -> ImportRun:
        runs = [self.once(module, expected_root) for _ in range(repeat)]
        return ImportRun(
            module_us=round(statistics.median(run.module_us for run in runs)),
            process_us=round(statistics.median(run.process_us for run in runs)),
        )


def handler_modules() -> list[str]:
    from serverless_patterns.runtime import handlers

    return sorted(
        f"{handlers.__name__}.{info.name}"
        for info in pkgutil.iter_modules(handlers.__path__)
        if not info.ispkg
    )


def zipped_size(folder: Path) -> int:
    """Bytes of ``folder`` zipped (deflate), as the CDK zips a directory asset."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in sorted(folder.rglob("*")):
            if path.is_file():
                archive.write(path, path.relative_to(folder).as_posix())
    return len(buffer.getvalue())


@dataclass(frozen=True)
class FunctionAsset:
    function: str
    handler: str
    asset_dir: Path | None


def reference_function_assets() -> list[FunctionAsset]:
    """Each Lambda function of the reference app and the folder its code asset comes from."""
    from aws_cdk import App, Stack
    from aws_cdk import aws_lambda as lambda_
    from aws_cdk import aws_s3_assets as s3_assets

    from serverless_patterns.stacks import build_reference_app

    app = App(context={"aws:cdk:disable-asset-staging": True})  # asset_path = source folder
    build_reference_app(app)
    constructs = app.node.find_all()
    folders = {
        f"{asset.asset_hash}.zip": Path(asset.asset_path)
        for asset in constructs
        if isinstance(asset, s3_assets.Asset) and asset.is_zip_archive
    }
    functions = []
    for cfn in constructs:
        if isinstance(cfn, lambda_.CfnFunction):
            code = Stack.of(cfn).resolve(cfn.code)
            s3_key = code.get("s3Key") if isinstance(code, dict) else None
            functions.append(
                FunctionAsset(
                    function=cfn.node.scope.node.path if cfn.node.scope else cfn.node.path,
                    handler=str(cfn.handler),
                    asset_dir=folders.get(s3_key) if isinstance(s3_key, str) else None,
                )
            )
    return functions


def import_table(repeat: int) -> str:
    from serverless_patterns.constructs._runtime_asset import stage_runtime

    staged = stage_runtime()
    timer = ImportTimer(staged)
    anchor = timer.median(_ANCHOR, Path(timer.site_packages), repeat)
    rows = []
    for module in [*handler_modules(), _ANCHOR]:
        run = anchor if module == _ANCHOR else timer.median(module, staged, repeat)
        rows.append(
            [
                module,
                f"{run.module_us / 1000:.1f}",
                f"{run.process_us / 1000:.1f}",
                f"{run.module_us / anchor.module_us:.3f}",
            ]
        )
    return plain_table(
        f"Cold import, median of {repeat} fresh interpreters (-I -S -B -X importtime), "
        f"from {staged}",
        ["module", "import ms", "process imports ms", f"ratio to {_ANCHOR}"],
        rows,
        text=1,
    )


def asset_table() -> str:
    rows = []
    for function in reference_function_assets():
        folder = function.asset_dir
        files = sum(1 for path in folder.rglob("*") if path.is_file()) if folder else 0
        rows.append(
            [
                function.function,
                function.handler,
                str(files) if folder else "-",
                f"{zipped_size(folder) / 1024:.1f}" if folder else "not a folder asset",
            ]
        )
    return plain_table(
        "Function assets of the reference app (folder zipped in memory, deflate; limit 100 KB)",
        ["function", "handler", "files", "zipped KB"],
        rows,
        text=2,
    )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument(
        "--repeat", type=int, default=20, help="fresh interpreters per module (default 20)"
    )
    args = parser.parse_args(argv)
    print(import_table(args.repeat))
    print()
    print(asset_table())
    return 0


if __name__ == "__main__":
    sys.exit(main())
