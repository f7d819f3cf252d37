"""One snapshot per reference stack: a tripwire for any change to synthesized resources.

Update deliberately with ``pytest tests/snapshot --snapshot-update`` and review the diff.
"""

from __future__ import annotations

from typing import Any

import pytest
from syrupy.assertion import SnapshotAssertion
from syrupy.extensions.json import JSONSnapshotExtension

from serverless_patterns.stacks import STACK_PREFIX
from tests.snapshot.normalize import normalize_template

STACKS = [
    f"{STACK_PREFIX}-QueueWorker",
    f"{STACK_PREFIX}-IdempotentConsumer",
    f"{STACK_PREFIX}-EventBusFanOut",
    f"{STACK_PREFIX}-CanaryApi",
    f"{STACK_PREFIX}-Webhooks",
    f"{STACK_PREFIX}-StreamConsumer",
    f"{STACK_PREFIX}-Workflow",
    f"{STACK_PREFIX}-DirectApi",
]


@pytest.fixture
def snapshot_json(snapshot: SnapshotAssertion) -> SnapshotAssertion:
    return snapshot.use_extension(JSONSnapshotExtension)


def test_every_reference_stack_has_a_snapshot(reference_templates: dict[str, Any]) -> None:
    assert sorted(reference_templates) == sorted(STACKS)


@pytest.mark.parametrize("stack_name", STACKS)
def test_stack_matches_snapshot(
    stack_name: str, reference_templates: dict[str, Any], snapshot_json: SnapshotAssertion
) -> None:
    assert normalize_template(reference_templates[stack_name]) == snapshot_json


def test_normalization_replaces_asset_hashes_and_bootstrap_noise() -> None:
    digest = "ab" * 32
    template = {
        "Resources": {"F": {"Properties": {"Code": {"S3Key": f"{digest}.zip"}}}},
        "Parameters": {"BootstrapVersion": {"Type": "AWS::SSM::Parameter::Value<String>"}},
        "Rules": {"CheckBootstrapVersion": {"Assertions": []}},
    }
    assert normalize_template(template) == {
        "Resources": {"F": {"Properties": {"Code": {"S3Key": "[ASSET-HASH].zip"}}}}
    }


def test_normalization_replaces_version_code_hashes_in_ids_and_references() -> None:
    version_id = "ApiFunctionCurrentVersion43830DBC" + "0a" * 16
    template = {
        "Resources": {
            version_id: {"Type": "AWS::Lambda::Version"},
            "Alias": {"Properties": {"FunctionVersion": {"Fn::GetAtt": [version_id, "Version"]}}},
        }
    }
    normalized_id = "ApiFunctionCurrentVersion43830DBC[CODE-HASH]"
    assert normalize_template(template) == {
        "Resources": {
            normalized_id: {"Type": "AWS::Lambda::Version"},
            "Alias": {
                "Properties": {"FunctionVersion": {"Fn::GetAtt": [normalized_id, "Version"]}}
            },
        }
    }
