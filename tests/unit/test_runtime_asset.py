"""Lambda assets: runtime code only, laid out under the import path handlers use."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from aws_cdk import App, Stack, cx_api
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_s3_assets as s3_assets

from serverless_patterns.constructs import runtime_code
from serverless_patterns.constructs._runtime_asset import RUNTIME_PACKAGE_DIR, stage_runtime
from tests.conftest import new_app


def files(root: Path) -> set[str]:
    return {p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file()}


def test_library_asset_holds_the_runtime_package_only() -> None:
    staged = files(stage_runtime())
    assert "serverless_patterns/__init__.py" in staged
    assert "serverless_patterns/runtime/batch.py" in staged
    assert "serverless_patterns/runtime/handlers/queue_worker.py" in staged
    assert all(
        name.startswith("serverless_patterns/runtime/") or name == "serverless_patterns/__init__.py"
        for name in staged
    )
    assert not any("__pycache__" in name for name in staged)


def test_asset_package_init_does_not_import_cdk() -> None:
    init = (stage_runtime() / "serverless_patterns" / "__init__.py").read_text()
    assert "import" not in init


def test_handler_dir_lands_at_the_asset_root(tmp_path: Path) -> None:
    (tmp_path / "orders.py").write_text(
        "from serverless_patterns.runtime.batch import batch_handler\n"
    )
    staged = stage_runtime(tmp_path)
    assert "orders.py" in files(staged)
    assert "serverless_patterns/runtime/batch.py" in files(staged)


def test_staging_is_keyed_by_content(tmp_path: Path) -> None:
    (tmp_path / "orders.py").write_text("VERSION = 1\n")
    first = stage_runtime(tmp_path)
    assert stage_runtime(tmp_path) == first
    (tmp_path / "orders.py").write_text("VERSION = 2\n")
    second = stage_runtime(tmp_path)
    assert second != first
    assert (second / "orders.py").read_text() == "VERSION = 2\n"


def test_runtime_package_is_found_through_its_import() -> None:
    assert (RUNTIME_PACKAGE_DIR / "batch.py").is_file()


def test_missing_handler_dir_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match=r"handler_dir must be an existing directory"):
        stage_runtime(tmp_path / "absent")


# --- one runtime_code() object shared by functions and stacks -----------------------------------
# A CDK AssetCode binds to the first stack that uses it; runtime_code() must not.


def _function(scope: Stack, construct_id: str, code: lambda_.Code) -> lambda_.Function:
    return lambda_.Function(
        scope,
        construct_id,
        code=code,
        handler="orders.handler",
        runtime=lambda_.Runtime.PYTHON_3_14,
    )


def _asset_keys(assembly: cx_api.CloudAssembly, stack_name: str) -> list[str]:
    """The S3 keys of every function's code in a synthesized stack."""
    template = assembly.get_stack_by_name(stack_name).template
    return [
        resource["Properties"]["Code"]["S3Key"]
        for resource in template["Resources"].values()
        if resource["Type"] == "AWS::Lambda::Function"
    ]


def _manifest_sources(assembly: cx_api.CloudAssembly, stack_name: str) -> dict[str, Path]:
    """Asset hash -> staged folder, from the stack's assets manifest."""
    manifest = json.loads(Path(assembly.directory, f"{stack_name}.assets.json").read_text())
    return {
        asset_hash: Path(assembly.directory, entry["source"]["path"])
        for asset_hash, entry in manifest["files"].items()
        if entry["source"].get("packaging") == "zip"
    }


def _code_assets(app: App) -> list[str]:
    """Paths of the asset constructs the functions' code created, one per bound AssetCode."""
    return sorted(
        child.node.path for child in app.node.find_all() if isinstance(child, s3_assets.Asset)
    )


def test_one_code_object_serves_two_stacks_of_one_app() -> None:
    app = new_app()
    code = runtime_code()
    _function(Stack(app, "Platform"), "Worker", code)
    _function(Stack(app, "Consumer"), "Worker", code)

    assembly = app.synth()

    [platform_key] = _asset_keys(assembly, "Platform")
    [consumer_key] = _asset_keys(assembly, "Consumer")
    assert platform_key == consumer_key
    asset_hash = platform_key.removesuffix(".zip")
    assert asset_hash in _manifest_sources(assembly, "Platform")
    assert asset_hash in _manifest_sources(assembly, "Consumer")
    assert _code_assets(app) == ["Consumer/Worker/Code", "Platform/Worker/Code"]


def test_functions_of_one_stack_share_one_asset() -> None:
    app = new_app()
    stack = Stack(app, "Orders")
    code = runtime_code()
    _function(stack, "First", code)
    _function(stack, "Second", code)

    keys = _asset_keys(app.synth(), "Orders")

    assert len(keys) == 2 and len(set(keys)) == 1
    assert _code_assets(app) == ["Orders/First/Code"]


def test_handler_dir_code_serves_two_stacks(tmp_path: Path) -> None:
    (tmp_path / "orders.py").write_text(
        "from serverless_patterns.runtime.batch import batch_handler\n"
    )
    app = new_app()
    code = runtime_code(tmp_path)
    for stack_name in ("Platform", "Consumer"):
        stack = Stack(app, stack_name)
        _function(stack, "First", code)
        _function(stack, "Second", code)

    assembly = app.synth()

    keys = {
        stack_name: _asset_keys(assembly, stack_name) for stack_name in ("Platform", "Consumer")
    }
    assert len({key for stack_keys in keys.values() for key in stack_keys}) == 1, keys
    asset_hash = keys["Platform"][0].removesuffix(".zip")
    for stack_name in ("Platform", "Consumer"):
        staged = _manifest_sources(assembly, stack_name)[asset_hash]
        assert (staged / "orders.py").read_text().startswith("from serverless_patterns.runtime")
        assert (staged / "serverless_patterns" / "runtime" / "batch.py").is_file()


def test_asset_metadata_is_written_for_every_function_in_every_stack() -> None:
    """bind_to_resource reaches each stack's asset (SAM CLI reads aws:asset:path)."""
    app = new_app()
    app.node.set_context("aws:cdk:enable-asset-metadata", True)
    code = runtime_code()
    for stack_name in ("Platform", "Consumer"):
        stack = Stack(app, stack_name)
        _function(stack, "First", code)
        _function(stack, "Second", code)

    assembly = app.synth()

    for stack_name in ("Platform", "Consumer"):
        functions = assembly.get_stack_by_name(stack_name).template["Resources"].values()
        metadata = [
            resource["Metadata"]
            for resource in functions
            if resource["Type"] == "AWS::Lambda::Function"
        ]
        assert len(metadata) == 2
        assert all(entry["aws:asset:property"] == "Code" for entry in metadata), metadata
        assert all(entry["aws:asset:path"] for entry in metadata), metadata
