"""Shared CDK fixtures: apps built with the same feature flags as ``cdk.json``.

The reference app is built and synthesized once per session (per xdist worker). The moto
server fixture for runtime integration tests lives in ``tests/integration/conftest.py``.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any

import pytest

os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")

from aws_cdk import App, Environment, Stack

from serverless_patterns.checks import add_checks
from serverless_patterns.stacks import build_reference_app

REPO_ROOT = Path(__file__).resolve().parents[1]
TEST_ENV = Environment(account="123456789012", region="eu-west-1")


def cdk_context() -> dict[str, Any]:
    """The feature flags of ``cdk.json``, so test templates match real synths."""
    context: dict[str, Any] = json.loads((REPO_ROOT / "cdk.json").read_text())["context"]
    return context


def new_app() -> App:
    """An App with the project's feature flags, writing to a fresh temporary folder."""
    return App(context=cdk_context(), outdir=tempfile.mkdtemp(prefix="cdk-test-"))


@pytest.fixture
def stack() -> Stack:
    """A small deterministic stack for one unit test."""
    return Stack(new_app(), "Test", env=TEST_ENV)


@pytest.fixture(scope="session")
def reference_app() -> tuple[App, list[Stack]]:
    """The reference app exactly as ``app.py`` builds it, cdk-nag checks included."""
    app = new_app()
    stacks = build_reference_app(app)
    add_checks(app)
    return app, stacks


@pytest.fixture(scope="session")
def reference_templates(reference_app: tuple[App, list[Stack]]) -> dict[str, dict[str, Any]]:
    """Templates of every reference stack, synthesized once per session (nag must pass)."""
    app, stacks = reference_app
    assembly = app.synth()
    return {s.stack_name: assembly.get_stack_by_name(s.stack_name).template for s in stacks}


@pytest.fixture(scope="session")
def reference_template_dir(
    reference_app: tuple[App, list[Stack]], reference_templates: dict[str, dict[str, Any]]
) -> Path:
    """The folder holding the synthesized reference templates."""
    return Path(reference_app[0].outdir)
