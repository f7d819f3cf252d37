"""The pack itself: its rules, its use through add_checks, and the reference app."""

from __future__ import annotations

import re
from typing import Any

import pytest
from aws_cdk import App, Duration, Stack
from aws_cdk import aws_sqs as sqs
from cdk_nag import NagMessageLevel

from serverless_patterns.checks import PACK_NAME, RULE_IDS, ServerlessPatternsChecks, add_checks
from serverless_patterns.checks.rules import RULES
from serverless_patterns.constructs._nag import acknowledge
from tests.checks.builders import findings, function, queue_with_dlq
from tests.conftest import REPO_ROOT, nag_findings, new_app


def test_every_rule_has_an_id_a_level_a_description_and_an_explanation() -> None:
    assert len({rule.id for rule in RULES}) == len(RULES) == 18
    for rule in RULES:
        assert re.fullmatch(r"[A-Z][A-Za-z0-9]+", rule.id), rule.id
        assert rule.level in (NagMessageLevel.ERROR, NagMessageLevel.WARN), rule.id
        assert rule.info.endswith(".") and len(rule.info) < 200, rule.id
        assert len(rule.explanation) > len(rule.info), rule.id
        assert rule.resource_types, rule.id


def test_readme_documents_every_rule() -> None:
    readme = (REPO_ROOT / "README.md").read_text()
    for rule_id in RULE_IDS:
        assert re.search(rf"`{rule_id}(`|\[)", readme), rule_id


def test_reference_app_has_no_findings(reference_app: tuple[App, list[Stack]]) -> None:
    app, stacks = reference_app
    assert len(stacks) >= 4
    assert nag_findings(ServerlessPatternsChecks(), app) == []


def test_add_checks_fails_synth_on_a_finding() -> None:
    app = new_app()
    stack = Stack(app, "Bad")
    queue = sqs.Queue(stack, "Queue", visibility_timeout=Duration.seconds(30))
    function(stack).add_event_source_mapping(
        "Mapping", event_source_arn=queue.queue_arn, report_batch_item_failures=True
    )
    add_checks(app)
    with pytest.raises(RuntimeError, match=f"{PACK_NAME}-SQSVisibilityTimeout"):
        app.synth()


def test_a_finding_acknowledged_on_its_resource_is_not_reported(stack: Stack) -> None:
    queue = sqs.Queue(stack, "Queue", visibility_timeout=Duration.seconds(30))
    function(stack).add_event_source_mapping(
        "Mapping", event_source_arn=queue.queue_arn, report_batch_item_failures=True
    )
    assert findings(stack, "SQSVisibilityTimeout")
    acknowledge(
        queue,
        f"{PACK_NAME}-SQSVisibilityTimeout",
        "Test: the consumer finishes in under a second whatever its timeout says.",
    )
    assert findings(stack, "SQSVisibilityTimeout") == []


def test_only_findings_are_handed_to_cdk_nag(stack: Stack, monkeypatch: pytest.MonkeyPatch) -> None:
    """A compliant or not-applicable result makes cdk-nag do nothing, and handing a result
    over costs round trips to the node kernel: only findings (acknowledged or not) cross."""
    good = queue_with_dlq(stack, "Good", visibility_timeout=Duration.seconds(60))
    function(stack, "GoodFunction").add_event_source_mapping(
        "GoodMapping", event_source_arn=good.queue_arn, report_batch_item_failures=True
    )
    bad = queue_with_dlq(stack, "Bad", visibility_timeout=Duration.seconds(30))
    function(stack, "BadFunction").add_event_source_mapping(
        "BadMapping", event_source_arn=bad.queue_arn, report_batch_item_failures=True
    )
    handed: list[str] = []
    apply_rule = ServerlessPatternsChecks._apply_rule

    def counting(self: ServerlessPatternsChecks, params: Any) -> None:
        handed.append(params.rule_suffix_override)
        apply_rule(self, params)

    monkeypatch.setattr(ServerlessPatternsChecks, "_apply_rule", counting)
    assert nag_findings(ServerlessPatternsChecks(), stack) == [
        f"{PACK_NAME}-SQSVisibilityTimeout at Test/Bad/Resource"
    ]
    assert handed == ["SQSVisibilityTimeout"]
