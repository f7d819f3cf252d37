"""Builds Lambda assets from the runtime package shipped inside this distribution.

The asset is laid out as ``serverless_patterns/runtime/...`` so a handler imports the helpers
under the same module path in Lambda as in tests. The runtime package is located through its
import, so this works from a checkout (editable install) and from an installed wheel alike.
No Docker is involved: the runtime depends only on the standard library and boto3.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
from pathlib import Path

from aws_cdk import CfnResource, Stack
from aws_cdk import aws_lambda as lambda_

import serverless_patterns.runtime as _runtime_package
from constructs import Construct, IConstruct

RUNTIME_PACKAGE_DIR = Path(_runtime_package.__file__).parent
_PACKAGE_INIT = '"""Lambda-side package: runtime helpers only (no CDK code)."""\n'


def _source_files(root: Path) -> list[Path]:
    return sorted(
        path
        for path in root.rglob("*")
        if path.is_file() and "__pycache__" not in path.parts and path.suffix != ".pyc"
    )


def _fingerprint(trees: list[tuple[str, Path]]) -> str:
    digest = hashlib.sha256()
    for prefix, root in trees:
        for path in _source_files(root):
            digest.update(f"{prefix}/{path.relative_to(root).as_posix()}\0".encode())
            digest.update(path.read_bytes())
            digest.update(b"\0")
    return digest.hexdigest()[:32]


def _copy_tree(source: Path, destination: Path) -> None:
    for path in _source_files(source):
        target = destination / path.relative_to(source)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, target)


def stage_runtime(handler_dir: str | os.PathLike[str] | None = None) -> Path:
    """Stages the runtime package (plus ``handler_dir``'s files at the root) in a folder.

    The folder name is a content hash, so repeated synths reuse it and the CDK asset hash only
    changes when the code does.
    """
    trees = [("serverless_patterns/runtime", RUNTIME_PACKAGE_DIR)]
    if handler_dir is not None:
        source = Path(handler_dir).resolve()
        if not source.is_dir():
            raise ValueError(f"handler_dir must be an existing directory, got {str(source)!r}")
        trees.append((".", source))
    staged = Path(tempfile.gettempdir()) / "serverless-patterns-assets" / _fingerprint(trees)
    if staged.is_dir():
        return staged
    staged.parent.mkdir(parents=True, exist_ok=True)
    building = Path(tempfile.mkdtemp(prefix=f".{staged.name}.", dir=staged.parent))
    package = building / "serverless_patterns"
    _copy_tree(RUNTIME_PACKAGE_DIR, package / "runtime")
    (package / "__init__.py").write_text(_PACKAGE_INIT)
    if handler_dir is not None:
        _copy_tree(Path(handler_dir).resolve(), building)
    try:
        building.rename(staged)
    except OSError:  # another process staged the same content first
        shutil.rmtree(building, ignore_errors=True)
    return staged


class _PerStackAssetCode(lambda_.Code):
    """Lambda code from one staged folder that any number of stacks can use.

    A CDK ``AssetCode`` belongs to the first stack that binds it ("Asset is already associated
    with another stack"). This code binds one ``AssetCode`` per stack, created the first time a
    function in that stack uses it, so every function of a stack shares that stack's asset, as
    with a plain ``AssetCode``, and all stacks point at the same content hash.
    """

    def __init__(self, path: Path) -> None:
        super().__init__()
        self._path = str(path)
        self._codes: list[tuple[Stack, lambda_.AssetCode]] = []

    def _code_for(self, scope: IConstruct) -> lambda_.AssetCode:
        stack = Stack.of(scope)
        for known, code in self._codes:
            if known is stack:
                return code
        code = lambda_.Code.from_asset(self._path)
        self._codes.append((stack, code))
        return code

    def bind(self, scope: Construct) -> lambda_.CodeConfig:
        return self._code_for(scope).bind(scope)

    def bind_to_resource(
        self, resource: CfnResource, *, resource_property: str | None = None
    ) -> None:
        self._code_for(resource).bind_to_resource(resource, resource_property=resource_property)


def runtime_code(handler_dir: str | os.PathLike[str] | None = None) -> lambda_.Code:
    """Defines Lambda code holding this library's runtime helpers.

    The same code object can be given to functions in any number of stacks: each stack gets its
    own asset of the same content.

    :param handler_dir: a folder of your own handler modules, copied to the asset root so they
        can ``from serverless_patterns.runtime.batch import batch_handler``.
        Default: - only the library runtime (its reference handlers included).
    """
    return _PerStackAssetCode(stage_runtime(handler_dir))
