"""The wheel works on its own, the way a user uses it (DESIGN.md, "Hard rules for packaging").

One pipeline, built once per test run and shared by the tests below:
1. build the wheel from a clean copy of the checkout and install it into a fresh venv;
2. from a folder outside the checkout, synthesize with that venv's python a two-stack consumer
   app with its own handler folder, several constructs, one ``runtime_code(...)`` object used
   by both stacks, and ``add_checks(app)``;
3. create a second venv holding only boto3, as the Lambda Python runtime does.

The tests then check that every module of the checkout is in the wheel and imports from the
installed package, that the app synthesized with the checks, and that every function's handler
imports from its asset folder with only boto3 beside it. Slow (about a minute, most of it
``pip install`` of aws-cdk-lib). Everything lives in pytest's temporary folder; under
``pytest -n auto`` the workers share one pipeline (the pytest-xdist recipe for running a
fixture once, with a file lock).
"""

from __future__ import annotations

import fcntl
import io
import json
import os
import re
import shutil
import subprocess
import sys
import zipfile
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
PACKAGE = "serverless_patterns"
#: Source folder -> the package it is installed as (pyproject.toml ``package-dir``).
SOURCE_ROOTS = {"src": PACKAGE, "runtime": f"{PACKAGE}.runtime"}
STACKS = ("Orders", "Billing")
USER_HANDLER = "orders.handler"
MAX_ASSET_ZIPPED_BYTES = 100 * 1024

#: Checkout entries the wheel build must not see: caches, local envs and stale build output
#: (setuptools reuses ``build/lib``, so a file deleted from the source could reappear).
_NOT_COPIED_AT_TOP = {"build", "dist", "cdk.out", "node_modules", "tests", "benchmarks"}

#: The user's own handler folder: a QueueWorker handler built on the runtime's batch helper.
USER_HANDLERS = {
    "orders.py": '''\
"""A user's order handler: one bad record fails only itself."""

from serverless_patterns.runtime.batch import SqsRecord, batch_handler


def handle_order(record: SqsRecord) -> None:
    if not isinstance(record.json(), dict):
        raise ValueError(f"Record {record.message_id}: body is not a JSON object")


handler = batch_handler(handle_order)
''',
}

#: The consumer app. It runs from a folder outside the checkout with the fresh venv's python,
#: so the only ``serverless_patterns`` it can import is the installed wheel. The same code
#: object goes to constructs in both stacks.
CONSUMER_APP = f"""\
import json
import sys
import sysconfig
from pathlib import Path

import aws_cdk as cdk

import serverless_patterns.constructs
from serverless_patterns.checks import add_checks
from serverless_patterns.constructs import (
    BufferedTarget,
    EventBusFanOut,
    EventPatternSpec,
    IdempotencyOptions,
    IdempotencyTable,
    QueueWorker,
    WebhookSender,
    runtime_code,
)

Path("probe.json").write_text(json.dumps({{
    "constructs_file": serverless_patterns.constructs.__file__,
    "purelib": sysconfig.get_paths()["purelib"],
    "sys_path": sys.path,
}}))

app = cdk.App()
code = runtime_code("handlers")
for name in {STACKS!r}:
    stack = cdk.Stack(app, name)
    table = IdempotencyTable(stack, "IdempotencyTable")
    worker = QueueWorker(
        stack,
        "Worker",
        code=code,
        handler={USER_HANDLER!r},
        idempotency=IdempotencyOptions(table=table),
    )
    fan_out = EventBusFanOut(stack, "Events")
    fan_out.add_rule(
        "OrderPlaced",
        pattern=EventPatternSpec(source=["shop.orders"], detail_type=["OrderPlaced"]),
        targets={{"Worker": BufferedTarget(worker)}},
    )
    WebhookSender(stack, "Webhooks", code=code)
add_checks(app)
app.synth()
"""

#: Walks the installed package and imports every module; prints ``{{name: file or error}}``.
WALK_AND_IMPORT = f"""\
import importlib, json, pkgutil, traceback
import {PACKAGE}

found = {{{PACKAGE!r}: {PACKAGE}.__file__}}
def failed(name):
    found[name] = "ERROR " + traceback.format_exc(limit=3)
for info in pkgutil.walk_packages({PACKAGE}.__path__, {PACKAGE!r} + ".", onerror=failed):
    try:
        found[info.name] = importlib.import_module(info.name).__file__
    except Exception:
        failed(info.name)
print(json.dumps(found))
"""

#: Imports ``module`` from the asset folder (the only project path, as /var/task in Lambda)
#: and checks that ``attribute`` is callable. Run with ``-I``: no PYTHONPATH, no user site.
IMPORT_HANDLER = """\
import importlib, importlib.util, json, sys
asset, module, attribute = sys.argv[1:4]
sys.path.insert(0, asset)
loaded = importlib.import_module(module)
target = getattr(loaded, attribute, None)
cdk = importlib.util.find_spec("aws_cdk")
print(json.dumps({
    "module_file": loaded.__file__,
    "runtime_file": sys.modules["serverless_patterns.runtime"].__file__
    if "serverless_patterns.runtime" in sys.modules else None,
    "callable": callable(target),
    "aws_cdk_importable": cdk is not None,
}))
"""


@dataclass(frozen=True)
class Pipeline:
    """Paths of what the shared pipeline built (plain strings: shared between workers)."""

    wheel: str
    venv: str
    consumer: str
    cdk_out: str
    lambda_python: str

    @property
    def python(self) -> Path:
        return Path(self.venv) / "bin" / "python"


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
        and not key.startswith("AWS_")
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


def _checkout_modules() -> dict[str, str]:
    """Every module under src/ and runtime/: import name -> file relative to the wheel root."""
    modules = {}
    for folder, package in SOURCE_ROOTS.items():
        for path in (REPO_ROOT / folder).rglob("*.py"):
            relative = path.relative_to(REPO_ROOT / folder).with_suffix("")
            parts = [*package.split("."), *relative.parts]
            if parts[-1] == "__init__":
                parts.pop()
            wheel_path = Path(*package.split("."), path.relative_to(REPO_ROOT / folder))
            modules[".".join(parts)] = wheel_path.as_posix()
    return modules


def _venv(path: Path, *requirements: str | Path) -> Path:
    """A fresh venv at ``path`` with ``requirements`` installed; returns its python."""
    _run([sys.executable, "-m", "venv", path], cwd=path.parent, env=_clean_env(), timeout=300)
    python = path / "bin" / "python"
    _run(
        [python, "-m", "pip", "install", "--quiet", "--disable-pip-version-check", *requirements],
        cwd=path.parent,
        env=_clean_env(),
        timeout=900,
    )
    return python


def _build_pipeline(root: Path) -> Pipeline:
    source = root / "source"
    shutil.copytree(REPO_ROOT, source, ignore=_ignore_for_copy)
    dist = root / "dist"
    _run(
        [sys.executable, "-m", "build", "--wheel", "--outdir", dist, source],
        cwd=root,
        env=_clean_env(),
        timeout=600,
    )
    wheels = sorted(dist.glob("serverless_patterns-*.whl"))
    assert len(wheels) == 1, f"expected one wheel in {dist}, found {wheels}"
    venv = root / "venv"
    python = _venv(venv, wheels[0])

    consumer = root / "consumer"
    (consumer / "handlers").mkdir(parents=True)
    for name, text in USER_HANDLERS.items():
        (consumer / "handlers" / name).write_text(text)
    (consumer / "app.py").write_text(CONSUMER_APP)
    cdk_out = root / "cdk.out"
    scratch = root / "tmp"  # runtime_code() stages its asset under TMPDIR
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
    lambda_python = _venv(root / "lambda-venv", "boto3")
    return Pipeline(
        wheel=str(wheels[0]),
        venv=str(venv),
        consumer=str(consumer),
        cdk_out=str(cdk_out),
        lambda_python=str(lambda_python),
    )


@pytest.fixture(scope="module")
def pipeline(tmp_path_factory: pytest.TempPathFactory, worker_id: str) -> Iterator[Pipeline]:
    """The pipeline of the module docstring, built once per run (once for all xdist workers)."""
    if worker_id == "master":
        yield _build_pipeline(tmp_path_factory.mktemp("wheel"))
        return
    shared = tmp_path_factory.getbasetemp().parent  # this run's folder, common to the workers
    with (shared / "wheel-pipeline.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        record = shared / "wheel-pipeline.json"
        if not record.is_file():
            built = _build_pipeline(Path(tmp_path_factory.mktemp("wheel")))
            record.write_text(json.dumps(asdict(built)))
        fcntl.flock(lock, fcntl.LOCK_UN)
    yield Pipeline(**json.loads(record.read_text()))


def _templates(pipeline: Pipeline) -> dict[str, Mapping[str, Any]]:
    cdk_out = Path(pipeline.cdk_out)
    return {name: json.loads((cdk_out / f"{name}.template.json").read_text()) for name in STACKS}


def _functions(template: Mapping[str, Any]) -> dict[str, Mapping[str, Any]]:
    return {
        logical_id: resource
        for logical_id, resource in template["Resources"].items()
        if resource["Type"] == "AWS::Lambda::Function"
    }


def _asset_dir(cdk_out: Path, stack: str, function: Mapping[str, Any]) -> Path:
    """The function's asset folder, found through the S3 key in the stack's assets manifest."""
    s3_key = function["Properties"]["Code"]["S3Key"]
    assert isinstance(s3_key, str) and s3_key.endswith(".zip"), s3_key
    manifest = json.loads((cdk_out / f"{stack}.assets.json").read_text())
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


def test_wheel_holds_every_module_of_the_checkout_and_nothing_else(pipeline: Pipeline) -> None:
    with zipfile.ZipFile(pipeline.wheel) as archive:
        names = set(archive.namelist())
    top_level = {name.split("/")[0] for name in names if ".dist-info/" not in name}
    assert "constructs" not in top_level, "the wheel installs a top-level 'constructs' package"
    assert top_level == {PACKAGE}, f"unexpected top-level entries: {top_level}"
    expected = set(_checkout_modules().values())
    shipped = {name for name in names if name.endswith(".py")}
    assert not expected - shipped, f"modules missing from the wheel: {sorted(expected - shipped)}"
    assert not shipped - expected, (
        f"modules not from src/ or runtime/: {sorted(shipped - expected)}"
    )
    assert f"{PACKAGE}/py.typed" in names, "py.typed missing from the wheel"


def test_every_module_of_the_installed_package_imports(pipeline: Pipeline) -> None:
    outside = Path(pipeline.consumer)
    result = _run(
        [pipeline.python, "-I", "-c", WALK_AND_IMPORT],
        cwd=outside,
        env=_clean_env(),
        timeout=300,
    )
    walked: dict[str, str] = json.loads(result.stdout.strip().splitlines()[-1])
    errors = {name: file for name, file in walked.items() if file.startswith("ERROR")}
    assert not errors, "modules that fail to import:\n" + "\n".join(
        f"{name}: {error}" for name, error in errors.items()
    )
    expected = set(_checkout_modules())
    missing = sorted(expected - set(walked))
    assert not missing, f"modules of the checkout missing from the installed package: {missing}"
    assert set(walked) == expected, f"unexpected modules: {sorted(set(walked) - expected)}"
    venv = Path(pipeline.venv).resolve()
    outside_venv = [
        file for file in walked.values() if not Path(file).resolve().is_relative_to(venv)
    ]
    assert not outside_venv, f"modules imported from outside the venv: {outside_venv}"


def test_consumer_app_imports_the_installed_wheel_not_the_checkout(pipeline: Pipeline) -> None:
    probe = json.loads((Path(pipeline.consumer) / "probe.json").read_text())
    constructs_file = Path(probe["constructs_file"]).resolve()
    purelib = Path(probe["purelib"]).resolve()
    assert constructs_file.is_relative_to(purelib), (
        f"serverless_patterns.constructs came from {constructs_file}, not {purelib}"
    )
    assert purelib.is_relative_to(Path(pipeline.venv).resolve()), f"{purelib} not in the venv"
    assert not constructs_file.is_relative_to(REPO_ROOT), constructs_file
    on_path_from_checkout = [
        entry
        for entry in probe["sys_path"]
        if entry and Path(entry).resolve().is_relative_to(REPO_ROOT)
    ]
    assert not on_path_from_checkout, f"the checkout is on sys.path: {on_path_from_checkout}"


def test_two_stack_app_synthesizes_with_the_checks_and_one_code_object(
    pipeline: Pipeline,
) -> None:
    report = json.loads((Path(pipeline.cdk_out) / "validation-report.json").read_text())
    failed = [plugin for plugin in report["pluginReports"] if plugin["conclusion"] != "success"]
    assert not failed, f"checks failed: {failed}"
    user_code_keys = set()
    for stack, template in _templates(pipeline).items():
        functions = _functions(template)
        handlers = sorted(function["Properties"]["Handler"] for function in functions.values())
        assert handlers == [
            USER_HANDLER,
            "serverless_patterns.runtime.handlers.webhook_sender.handler",
        ], f"{stack}: {handlers}"
        # add_checks ran: the packs wrote the library's acknowledgments into the template.
        acknowledged = [
            logical_id
            for logical_id, resource in template["Resources"].items()
            if "cdk_nag" in resource.get("Metadata", {})
        ]
        assert acknowledged, f"{stack}: no cdk-nag acknowledgments, did add_checks run?"
        user_code_keys |= {
            function["Properties"]["Code"]["S3Key"]
            for function in functions.values()
            if function["Properties"]["Handler"] == USER_HANDLER
        }
    assert len(user_code_keys) == 1, f"the shared code object gave several assets: {user_code_keys}"


def test_every_asset_holds_runtime_code_only_and_stays_small(pipeline: Pipeline) -> None:
    cdk_out = Path(pipeline.cdk_out)
    asset_dirs = {
        _asset_dir(cdk_out, stack, function)
        for stack, template in _templates(pipeline).items()
        for function in _functions(template).values()
    }
    cdk_import = re.compile(r"^\s*(from|import)\s+(aws_cdk|constructs|cdk_nag)\b", re.MULTILINE)
    for asset_dir in asset_dirs:
        files = sorted(
            path.relative_to(asset_dir).as_posix()
            for path in asset_dir.rglob("*")
            if path.is_file()
        )
        assert f"{PACKAGE}/runtime/batch.py" in files, f"{asset_dir}: {files}"
        not_runtime = [
            name
            for name in files
            if name not in USER_HANDLERS
            and name != f"{PACKAGE}/__init__.py"
            and not name.startswith(f"{PACKAGE}/runtime/")
        ]
        assert not not_runtime, f"the asset holds more than runtime code: {not_runtime}"
        for name in files:
            if name.endswith(".py"):
                text = (asset_dir / name).read_text()
                assert not cdk_import.search(text), f"{name} imports CDK code"
        size = _zipped_size(asset_dir)
        assert size < MAX_ASSET_ZIPPED_BYTES, f"{asset_dir.name} is {size} bytes zipped"


def test_every_handler_imports_from_its_asset_with_only_boto3(pipeline: Pipeline) -> None:
    """Each function's ``Handler`` (module path + function name) loads as Lambda loads it.

    Lambda puts the function's code folder (/var/task) on the path of a runtime that provides
    the standard library and boto3 ("Building Lambda functions with Python", AWS Lambda
    Developer Guide); so does this interpreter, from a venv with boto3 only.
    """
    cdk_out = Path(pipeline.cdk_out)
    checked = []
    for stack, template in _templates(pipeline).items():
        for logical_id, function in _functions(template).items():
            asset_dir = _asset_dir(cdk_out, stack, function)
            module, _, attribute = function["Properties"]["Handler"].rpartition(".")
            variables = function["Properties"].get("Environment", {}).get("Variables", {})
            result = _run(
                [pipeline.lambda_python, "-I", "-c", IMPORT_HANDLER, asset_dir, module, attribute],
                cwd=asset_dir,
                env=_clean_env(
                    PYTHONPATH=str(asset_dir),
                    AWS_REGION="eu-west-1",
                    AWS_DEFAULT_REGION="eu-west-1",
                    **{
                        name: value if isinstance(value, str) else "unresolved"
                        for name, value in variables.items()
                    },
                ),
                timeout=120,
            )
            loaded = json.loads(result.stdout.strip().splitlines()[-1])
            where = f"{stack}/{logical_id} ({module}.{attribute})"
            assert loaded["callable"], f"{where}: {attribute} is missing or not callable"
            assert Path(loaded["module_file"]).resolve().is_relative_to(asset_dir.resolve()), (
                f"{where}: loaded from {loaded['module_file']}"
            )
            assert loaded["runtime_file"] is not None, f"{where}: does not use the runtime"
            assert Path(loaded["runtime_file"]).resolve().is_relative_to(asset_dir.resolve())
            assert not loaded["aws_cdk_importable"], "the Lambda interpreter can import aws_cdk"
            checked.append(where)
    assert len(checked) == 2 * len(STACKS), checked
