"""The wheel works on its own: build it, install it in a fresh venv, synth a consumer app.

This is the packaging guarantee of DESIGN.md: the wheel carries the runtime code, a construct
finds its asset relative to its own module (not the checkout), and a function's asset holds
runtime code only and stays under 100 KB zipped. Slow (about half a minute, most of it
``pip install`` of aws-cdk-lib); everything lives in ``tmp_path`` so it runs under
``pytest -n auto``.
"""

from __future__ import annotations

import io
import json
import os
import re
import shutil
import subprocess
import sys
import zipfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parents[2]
HANDLER = "serverless_patterns.runtime.handlers.queue_worker.handler"
STACK_NAME = "Consumer"
MAX_ASSET_ZIPPED_BYTES = 100 * 1024

#: Checkout entries the wheel build must not see: caches, local envs and stale build output
#: (setuptools reuses ``build/lib``, so a file deleted from the source could reappear).
_NOT_COPIED_AT_TOP = {"build", "dist", "cdk.out", "node_modules", "tests", "benchmarks"}

#: The consumer app. It runs from a directory outside the checkout with the fresh venv's
#: python, so the only ``serverless_patterns`` it can import is the installed wheel.
CONSUMER_APP = f"""\
import json
import sys
import sysconfig
from pathlib import Path

import aws_cdk as cdk

import serverless_patterns.constructs
from serverless_patterns.constructs import QueueWorker, runtime_code

Path("probe.json").write_text(json.dumps({{
    "constructs_file": serverless_patterns.constructs.__file__,
    "purelib": sysconfig.get_paths()["purelib"],
    "sys_path": sys.path,
}}))

app = cdk.App()
stack = cdk.Stack(app, {STACK_NAME!r})
QueueWorker(stack, "Worker", code=runtime_code(), handler={HANDLER!r})
app.synth()
"""


def _run(
    command: Sequence[str | Path], *, cwd: Path, env: Mapping[str, str], timeout: float
) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(
        [str(part) for part in command],
        cwd=cwd,
        env=dict(env),
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    assert result.returncode == 0, (
        f"{' '.join(map(str, command))} failed with exit code {result.returncode}\n"
        f"--- stdout ---\n{result.stdout[-5000:]}\n--- stderr ---\n{result.stderr[-5000:]}"
    )
    return result


def _clean_env(**overrides: str) -> dict[str, str]:
    """The current environment without anything that could put the checkout on sys.path."""
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in {"PYTHONPATH", "PYTHONHOME", "PYTHONSTARTUP", "VIRTUAL_ENV", "CDK_OUTDIR"}
    }
    env["PYTHONNOUSERSITE"] = "1"
    env["JSII_SILENCE_WARNING_DEPRECATED_NODE_VERSION"] = "1"
    env.update(overrides)
    return env


def _ignore_for_copy(directory: str, names: list[str]) -> set[str]:
    ignored = {name for name in names if name == "__pycache__" or name.endswith(".pyc")}
    if Path(directory) == REPO_ROOT:
        ignored |= {
            name
            for name in names
            if name.startswith(".") or name.endswith(".egg-info") or name in _NOT_COPIED_AT_TOP
        }
    return ignored


def _build_wheel(tmp_path: Path) -> Path:
    """Builds the wheel from a clean copy of the checkout (build isolation, as in CI)."""
    source = tmp_path / "source"
    shutil.copytree(REPO_ROOT, source, ignore=_ignore_for_copy)
    dist = tmp_path / "dist"
    _run(
        [sys.executable, "-m", "build", "--wheel", "--outdir", dist, source],
        cwd=tmp_path,
        env=_clean_env(),
        timeout=600,
    )
    wheels = sorted(dist.glob("serverless_patterns-*.whl"))
    assert len(wheels) == 1, f"expected one wheel in {dist}, found {wheels}"
    return wheels[0]


def _check_wheel_contents(wheel: Path) -> None:
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
    for expected in (
        "serverless_patterns/constructs/queue_worker.py",
        "serverless_patterns/runtime/batch.py",
        "serverless_patterns/runtime/handlers/queue_worker.py",
    ):
        assert expected in names, f"{expected} missing from {wheel.name}: {sorted(names)}"
    top_level = {name.split("/")[0] for name in names} - {
        name.split("/")[0] for name in names if name.split("/")[0].endswith(".dist-info")
    }
    assert "constructs" not in top_level, "the wheel installs a top-level 'constructs' package"
    assert top_level == {"serverless_patterns"}, f"unexpected top-level entries: {top_level}"
    assert not any("/tests/" in f"/{name}" for name in names), "the wheel contains tests"


def _function_resources(template: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    return [
        resource
        for resource in template["Resources"].values()
        if resource["Type"] == "AWS::Lambda::Function"
        and resource["Properties"].get("Handler") == HANDLER
    ]


def _asset_dir(cdk_out: Path, function: Mapping[str, Any]) -> Path:
    """The function's asset folder, found through the S3 key in the assets manifest."""
    s3_key = function["Properties"]["Code"]["S3Key"]
    assert isinstance(s3_key, str) and s3_key.endswith(".zip"), s3_key
    manifest = json.loads((cdk_out / f"{STACK_NAME}.assets.json").read_text())
    entry = manifest["files"][s3_key.removesuffix(".zip")]
    assert entry["source"]["packaging"] == "zip", entry
    relative_path: str = entry["source"]["path"]
    asset_dir = cdk_out / relative_path
    assert asset_dir.is_dir(), f"asset folder {asset_dir} missing"
    return asset_dir


def _zipped_size(folder: Path) -> int:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in sorted(folder.rglob("*")):
            if path.is_file():
                archive.write(path, path.relative_to(folder).as_posix())
    return len(buffer.getvalue())


def _check_asset(asset_dir: Path) -> None:
    files = sorted(
        path.relative_to(asset_dir).as_posix() for path in asset_dir.rglob("*") if path.is_file()
    )
    for expected in (
        "serverless_patterns/runtime/handlers/queue_worker.py",
        "serverless_patterns/runtime/batch.py",
    ):
        assert expected in files, f"{expected} missing from the asset: {files}"
    runtime_only = [
        name
        for name in files
        if name != "serverless_patterns/__init__.py"
        and not name.startswith("serverless_patterns/runtime/")
    ]
    assert not runtime_only, f"the asset holds more than runtime code: {runtime_only}"
    for forbidden in ("aws_cdk", "tests", "constructs", "stacks", "checks", "cdk_nag", "jsii"):
        hits = [name for name in files if forbidden in name.split("/")]
        assert not hits, f"the asset contains {forbidden!r}: {hits}"
    cdk_import = re.compile(r"^\s*(from|import)\s+(aws_cdk|constructs|cdk_nag)\b", re.MULTILINE)
    for name in files:
        if name.endswith(".py"):
            assert not cdk_import.search((asset_dir / name).read_text()), f"{name} imports CDK code"
    size = _zipped_size(asset_dir)
    assert size < MAX_ASSET_ZIPPED_BYTES, f"asset is {size} bytes zipped, limit 100 KB"


def test_installed_wheel_synthesizes_a_consumer_app_with_a_runtime_only_asset(
    tmp_path: Path,
) -> None:
    wheel = _build_wheel(tmp_path)
    _check_wheel_contents(wheel)

    venv = tmp_path / "venv"
    _run([sys.executable, "-m", "venv", venv], cwd=tmp_path, env=_clean_env(), timeout=300)
    python = venv / "bin" / "python"
    _run(
        [python, "-m", "pip", "install", "--quiet", "--disable-pip-version-check", wheel],
        cwd=tmp_path,
        env=_clean_env(),
        timeout=900,
    )

    consumer = tmp_path / "consumer"
    consumer.mkdir()
    (consumer / "app.py").write_text(CONSUMER_APP)
    cdk_out = tmp_path / "cdk.out"
    scratch = tmp_path / "tmp"  # runtime_code() stages its asset under TMPDIR
    scratch.mkdir()
    _run(
        [python, "app.py"],
        cwd=consumer,
        env=_clean_env(
            CDK_OUTDIR=str(cdk_out),
            TMPDIR=str(scratch),
            PATH=f"{venv / 'bin'}{os.pathsep}{os.environ.get('PATH', '')}",
        ),
        timeout=600,
    )

    probe = json.loads((consumer / "probe.json").read_text())
    constructs_file = Path(probe["constructs_file"]).resolve()
    purelib = Path(probe["purelib"]).resolve()
    assert constructs_file.is_relative_to(purelib), (
        f"serverless_patterns.constructs came from {constructs_file}, not {purelib}"
    )
    assert purelib.is_relative_to(venv.resolve()), f"{purelib} is not in the fresh venv"
    assert not constructs_file.is_relative_to(REPO_ROOT), constructs_file
    on_path_from_checkout = [
        entry
        for entry in probe["sys_path"]
        if entry and Path(entry).resolve().is_relative_to(REPO_ROOT)
    ]
    assert not on_path_from_checkout, f"the checkout is on sys.path: {on_path_from_checkout}"

    template = json.loads((cdk_out / f"{STACK_NAME}.template.json").read_text())
    functions = _function_resources(template)
    assert len(functions) == 1, f"expected one function with handler {HANDLER}"
    _check_asset(_asset_dir(cdk_out, functions[0]))
