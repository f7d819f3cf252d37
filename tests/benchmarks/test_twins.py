"""The synth benchmark's twins stay twins: the hand-written stack defines what the library does.

``benchmarks/library_cost_benchmark.py`` compares the synth time of ``benchmarks/twins/library``
with ``benchmarks/twins/hand_written``; the ratio means something only while both define the
same resources. Each stack is synthesized here once, with the feature flags of ``cdk.json``.
"""

from __future__ import annotations

import ast
import json
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from aws_cdk import aws_s3_assets as s3_assets

from benchmarks.twins import hand_written, library
from tests.conftest import REPO_ROOT, new_app

Template = dict[str, Any]


@pytest.fixture(scope="module")
def library_synth() -> tuple[Template, Path]:
    """The library stack's template, and the code folder its assembly holds (the twin deploys
    that folder, so an edit of runtime/ between the two synths cannot tell them apart)."""
    app = new_app()
    stack = library.LibraryStack(app, library.STACK_ID)
    assembly = app.synth()
    (asset_path,) = {
        construct.asset_path
        for construct in stack.node.find_all()
        if isinstance(construct, s3_assets.Asset)
    }
    template: Template = assembly.get_stack_by_name(library.STACK_ID).template
    return template, Path(assembly.directory) / asset_path


@pytest.fixture(scope="module")
def library_template(library_synth: tuple[Template, Path]) -> Template:
    return library_synth[0]


@pytest.fixture(scope="module")
def twin_template(library_synth: tuple[Template, Path]) -> Template:
    app = new_app()
    hand_written.HandWrittenStack(app, hand_written.STACK_ID, asset_dir=library_synth[1])
    template: Template = app.synth().get_stack_by_name(hand_written.STACK_ID).template
    return template


def _resources(template: Template, resource_type: str) -> list[dict[str, Any]]:
    return [
        resource.get("Properties", {})
        for resource in template["Resources"].values()
        if resource["Type"] == resource_type
    ]


def _blank_path_name(key: str, value: Any) -> Any:
    """A value generated from a construct path, blanked; any other value unchanged."""
    if key == "PolicyName":
        return "<name>"
    if key == "Sid" and isinstance(value, str) and value.startswith("AllowEventRule"):
        return "AllowEventRule<rule>"
    return value


def _canonical(template: Template) -> Counter[str]:
    """Each resource as JSON with logical ids replaced by the type they name, and the values
    derived from construct paths (policy names, statement ids, the bus name) blanked."""
    types = {logical_id: resource["Type"] for logical_id, resource in template["Resources"].items()}

    def walk(value: Any, key: str = "") -> Any:
        if isinstance(value, list):
            return [walk(item, key) for item in value]
        if not isinstance(value, dict):
            return _blank_path_name(key, value)
        if set(value) == {"Ref"} and value["Ref"] in types:
            return {"Ref": types[value["Ref"]]}
        if set(value) == {"Fn::GetAtt"}:
            logical_id, attribute = value["Fn::GetAtt"]
            return {"Fn::GetAtt": [types[logical_id], attribute]}
        return {k: walk(v, k) for k, v in value.items()}

    canonical: Counter[str] = Counter()
    for resource in template["Resources"].values():
        properties = dict(resource.get("Properties", {}))
        if resource["Type"] == "AWS::Events::EventBus":
            properties.pop("Name")  # generated from the construct path
        body = {
            "Type": resource["Type"],
            "Properties": walk(properties),
            "DependsOn": sorted(types[d] for d in resource.get("DependsOn", [])),
            "DeletionPolicy": resource.get("DeletionPolicy"),
            "UpdateReplacePolicy": resource.get("UpdateReplacePolicy"),
        }
        canonical[json.dumps(body, sort_keys=True)] += 1
    return canonical


def test_resource_type_counts_are_equal(
    library_template: Template, twin_template: Template
) -> None:
    def counts(template: Template) -> Counter[str]:
        return Counter(resource["Type"] for resource in template["Resources"].values())

    assert counts(twin_template) == counts(library_template)
    # The stack is what the brief asks for: two workers, one bus rule, an alarm topic.
    assert counts(library_template)["AWS::Lambda::EventSourceMapping"] == 2
    assert counts(library_template)["AWS::Events::Rule"] == 1
    assert counts(library_template)["AWS::SNS::Topic"] == 1


def test_templates_are_equal_up_to_names(
    library_template: Template, twin_template: Template
) -> None:
    library_resources = _canonical(library_template)
    twin_resources = _canonical(twin_template)
    only_library = library_resources - twin_resources
    only_twin = twin_resources - library_resources
    assert not only_library and not only_twin, (
        f"only in the library stack: {list(only_library)}\nonly in the twin: {list(only_twin)}"
    )


def test_the_canonical_form_tells_a_changed_property_apart(library_template: Template) -> None:
    changed = json.loads(json.dumps(library_template))
    queue = next(
        resource
        for resource in changed["Resources"].values()
        if resource["Type"] == "AWS::SQS::Queue" and "RedrivePolicy" in resource["Properties"]
    )
    queue["Properties"]["RedrivePolicy"]["maxReceiveCount"] = 1
    assert _canonical(changed) != _canonical(library_template)


@pytest.mark.parametrize("twin", ["library", "hand_written"])
def test_both_have_the_key_properties(
    twin: str, library_template: Template, twin_template: Template
) -> None:
    template = library_template if twin == "library" else twin_template
    queues = _resources(template, "AWS::SQS::Queue")
    assert all(queue["SqsManagedSseEnabled"] is True for queue in queues)
    sources = [queue for queue in queues if "RedrivePolicy" in queue]
    assert len(sources) == 2
    assert all(queue["RedrivePolicy"]["maxReceiveCount"] == 5 for queue in sources)
    assert all(queue["VisibilityTimeout"] == 180 for queue in sources)
    dead_letter = [queue for queue in queues if "RedrivePolicy" not in queue]
    assert [queue["MessageRetentionPeriod"] for queue in dead_letter] == [14 * 24 * 3600] * 3
    assert [group["RetentionInDays"] for group in _resources(template, "AWS::Logs::LogGroup")] == [
        30,
        30,
    ]
    alarms = _resources(template, "AWS::CloudWatch::Alarm")
    assert len(alarms) == 12
    assert all(alarm["AlarmActions"] and alarm["OKActions"] for alarm in alarms)
    (rule,) = _resources(template, "AWS::Events::Rule")
    (target,) = rule["Targets"]
    assert "DeadLetterConfig" in target
    assert target["RetryPolicy"] == {"MaximumEventAgeInSeconds": 86400, "MaximumRetryAttempts": 185}
    (topic,) = _resources(template, "AWS::SNS::Topic")
    assert "KmsMasterKeyId" in topic
    functions = _resources(template, "AWS::Lambda::Function")
    assert {function["TracingConfig"]["Mode"] for function in functions} == {"Active"}


def test_the_twin_never_imports_the_library() -> None:
    source = Path(hand_written.__file__).read_text()
    imported = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            imported |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            imported.add(node.module)
    assert imported, "no import found"
    assert not [name for name in imported if name.split(".")[0] == "serverless_patterns"]
    assert Path(hand_written.__file__).is_relative_to(REPO_ROOT / "benchmarks" / "twins")
