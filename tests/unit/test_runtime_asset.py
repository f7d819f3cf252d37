"""Lambda assets: runtime code only, laid out under the import path handlers use."""

from __future__ import annotations

from pathlib import Path

import pytest

from serverless_patterns.constructs._runtime_asset import RUNTIME_PACKAGE_DIR, stage_runtime


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
