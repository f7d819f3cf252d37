"""Shared fixtures: CDK apps built with the same feature flags as ``cdk.json``, and moto.

The reference app is built and synthesized once per session (per xdist worker). The moto
server fixtures (``moto_endpoint``, ``aws_client``, ``sqs``, ``dynamodb``,
``idempotency_table``) live in the plain module ``tests/moto_fixtures.py`` and are
re-exported here, so a test in any folder asks for them by name; nobody imports a conftest.
"""

from __future__ import annotations

import atexit
import json
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

import pytest

os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")

from aws_cdk import App, Environment, Stack
from cdk_nag import NagPack

from constructs import IConstruct
from serverless_patterns.checks import add_checks
from serverless_patterns.stacks import build_reference_app
from tests.moto_fixtures import (  # noqa: F401  (fixture re-export)
    aws_client,
    dynamodb,
    idempotency_table,
    moto_endpoint,
    sqs,
)

REPO_ROOT = Path(__file__).resolve().parents[1]
TEST_ENV = Environment(account="123456789012", region="eu-west-1")


#: Every test app synthesizes below one folder per test process, removed when the process ends.
_SYNTH_ROOT = tempfile.mkdtemp(prefix="cdk-test-")
atexit.register(shutil.rmtree, _SYNTH_ROOT, ignore_errors=True)


def cdk_context() -> dict[str, Any]:
    """The feature flags of ``cdk.json``, so test templates match real synths."""
    context: dict[str, Any] = json.loads((REPO_ROOT / "cdk.json").read_text())["context"]
    return context


def new_app() -> App:
    """An App with the project's feature flags, writing to a fresh temporary folder."""
    return App(context=cdk_context(), outdir=tempfile.mkdtemp(dir=_SYNTH_ROOT))


def nag_findings(pack: NagPack, scope: IConstruct) -> list[str]:
    """Unacknowledged findings of a cdk-nag pack over ``scope``: ``"<rule id> at <path>"``.

    This library's pack is run both ways a user runs it (at synth, over the templates, and
    over the construct tree), and must report the same (``tests.checks.views``).
    """
    from serverless_patterns.checks import ServerlessPatternsChecks
    from tests.checks.views import both_views

    if isinstance(pack, ServerlessPatternsChecks):
        return [f"{v.rule} at {v.path}" for v in both_views(pack, scope)]
    report = pack.validate_scope(scope)
    return [
        f"{violation.rule_name} at {resource.construct_path}"
        for violation in report.violations
        for resource in violation.violating_resources
    ]


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
