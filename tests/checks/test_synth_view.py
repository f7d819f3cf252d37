"""The pack at synth (``ServerlessPatternsChecks.validate``): it reads the templates and stack
metadata synth wrote, and must report what cdk-nag's way over the construct tree
(``validate_scope``) reports, acknowledgments included, without a round trip to the node
kernel per resource.

aws-cdk-lib's call is in ``core/lib/private/synthesis-validation.js`` (``invokeSinglePlugin``:
``plugin.validate({templatePaths, stackTemplates, appConstruct, ...})``, each stack named by
its construct path and template file); the metadata file is written by
``core/lib/stack-synthesizers/_shared.js`` (``collectStackMetadata``: every construct of the
stack with metadata, ``aws:cdk:logicalId`` and ``aws:cdk:acknowledged-rules`` included).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from aws_cdk import Acknowledgment, App, Duration, NestedStack, Stack, Stage, Validations
from aws_cdk import aws_sqs as sqs
from cdk_nag import NagMessageLevel
from jsii._kernel.providers.process import _NodeProcess

from constructs import IConstruct
from serverless_patterns.checks import PACK_NAME, ServerlessPatternsChecks, add_checks
from serverless_patterns.checks._assembly import StackTemplate, read_assembly
from serverless_patterns.checks._report import finding_ids
from serverless_patterns.checks._resources import Resource, ResourceIndex
from serverless_patterns.checks._tree import tree_index
from serverless_patterns.checks.rules import Rule, RuleContext, RuleResult
from serverless_patterns.constructs._nag import acknowledge
from serverless_patterns.stacks import build_reference_app
from tests.checks.builders import function, queue_with_dlq
from tests.checks.views import both_views, synth_report, violations
from tests.conftest import TEST_ENV, cdk_context, new_app

VISIBILITY = f"{PACK_NAME}-SQSVisibilityTimeout"


def short_visibility(scope: Stack, construct_id: str = "Queue") -> sqs.Queue:
    """A queue whose visibility timeout is shorter than its consumer's timeout: one finding."""
    queue = queue_with_dlq(scope, construct_id, visibility_timeout=Duration.seconds(30))
    function(scope, f"{construct_id}Consumer").add_event_source_mapping(
        f"{construct_id}Mapping", event_source_arn=queue.queue_arn, report_batch_item_failures=True
    )
    return queue


def at_synth(scope: IConstruct, pack: ServerlessPatternsChecks | None = None) -> list[str]:
    report = synth_report(pack or ServerlessPatternsChecks(), scope)
    assert report is not None
    return [f"{v.rule} at {v.path}" for v in violations(report)]


def outcomes(index: ResourceIndex) -> set[tuple[str, str]]:
    """Every finding of every rule on every resource, acknowledged or not."""
    pack = ServerlessPatternsChecks()
    context = pack._new_context(index)
    return {
        (resource.path, finding)
        for resource in index
        for rule, outcome in pack._outcomes(resource, context)
        for finding in finding_ids(rule.id, outcome)
    }


def placement(resource: Resource) -> tuple[str, str, str, str, tuple[str, str]]:
    return (
        resource.path,
        resource.logical_id,
        resource.type,
        resource.stack_path,
        resource.environment,
    )


@pytest.mark.parametrize("hardened", [False, True], ids=["reference", "hardened"])
def test_the_reference_app_reads_the_same_at_synth_and_from_the_tree(hardened: bool) -> None:
    """Every resource in the same place, and every rule's finding (acknowledged or not) the
    same, on the eight reference stacks."""
    app = new_app()
    build_reference_app(app, hardened=hardened)
    assembly = app.synth()
    stacks = [StackTemplate(s.hierarchical_id, s.template_full_path) for s in assembly.stacks]
    view = read_assembly(stacks)
    assert view is not None
    synthesized, tree = ResourceIndex(view.resources), tree_index(app)
    assert sorted(map(placement, synthesized)) == sorted(map(placement, tree))
    assert len(list(tree)) > 300
    found = outcomes(synthesized)
    assert found == outcomes(tree)
    assert found  # the reference app acknowledges findings: the comparison is not of nothing


def test_a_finding_fails_synth_with_its_rule_and_construct_path() -> None:
    app = new_app()
    short_visibility(Stack(app, "Bad", env=TEST_ENV))
    add_checks(app)
    report = rf"Bad/Queue/Resource [^\n]*\n\s*Acknowledge with '{PACK_NAME}::{VISIBILITY}'"
    with pytest.raises(RuntimeError, match=report):
        app.synth()


def staged_app(acknowledged_at: str | None) -> App:
    """An app with one finding in stack ``Prod/Orders``, acknowledged at the construct named
    (before the app's first synth: aws-cdk-lib synthesizes a Stage's assembly once)."""
    app = new_app()
    stage = Stage(app, "Prod")
    stack = Stack(stage, "Orders", env=TEST_ENV)
    queue = short_visibility(stack)
    targets = {
        "resource": queue.node.default_child,
        "construct": queue,
        "stack": stack,
        "stage": stage,
        "app": app,
    }
    if acknowledged_at is not None:
        target = targets[acknowledged_at]
        assert target is not None
        acknowledge(target, VISIBILITY, "Test: the consumer finishes in a second.")
    return app


def test_an_unacknowledged_finding_in_a_stage_is_reported_at_synth() -> None:
    assert at_synth(staged_app(None)) == [f"{VISIBILITY} at Prod/Orders/Queue/Resource"]


@pytest.mark.parametrize("where", ["resource", "construct", "stack", "stage", "app"])
def test_a_finding_acknowledged_at_or_above_its_resource_is_not_reported_at_synth(
    where: str,
) -> None:
    assert both_views(ServerlessPatternsChecks(), staged_app(where)) == []


def test_an_acknowledgment_elsewhere_or_of_another_rule_does_not_hide_a_finding() -> None:
    app = new_app()
    stack = Stack(app, "Orders", env=TEST_ENV)
    queue = short_visibility(stack)
    short_visibility(stack, "Other")
    acknowledge(queue, f"{PACK_NAME}-SQSDeadLetterQueue", "Test: another rule.")
    acknowledge(stack.node.find_child("Other"), VISIBILITY, "Test: another queue.")
    assert at_synth(app) == [f"{VISIBILITY} at Orders/Queue/Resource"]


def test_the_namespaced_acknowledgment_aws_cdk_lib_suggests_also_passes_synth() -> None:
    """aws-cdk-lib's report says "Acknowledge with 'ServerlessPatterns::<rule id>'"; it then
    suppresses that form itself (``collectSuppressions``), as it does for cdk-nag's packs."""
    app = new_app()
    queue = short_visibility(Stack(app, "Orders", env=TEST_ENV))
    Validations.of(queue).acknowledge(
        Acknowledgment(id=f"{PACK_NAME}::{VISIBILITY}", reason="Test: the form the report shows.")
    )
    Validations.of(app).add_plugins(ServerlessPatternsChecks(app))
    app.synth()


def test_a_raw_override_is_read_at_synth() -> None:
    """The template holds raw overrides; the construct tree's resolved properties do not
    (aws-cdk-lib keeps them private), so only the synth view sees this finding."""
    app = new_app()
    stack = Stack(app, "Orders", env=TEST_ENV)
    queue = queue_with_dlq(stack, "Queue", visibility_timeout=Duration.seconds(60))
    function(stack, "Consumer").add_event_source_mapping(
        "Mapping", event_source_arn=queue.queue_arn, report_batch_item_failures=True
    )
    queue.node.default_child.add_property_override("VisibilityTimeout", 30)  # type: ignore[union-attr]
    assert at_synth(app) == [f"{VISIBILITY} at Orders/Queue/Resource"]
    assert ServerlessPatternsChecks().validate_scope(app).violations == []


def test_a_nested_stack_is_checked_at_synth_through_the_construct_tree() -> None:
    app = new_app()
    parent = Stack(app, "Parent", env=TEST_ENV)
    short_visibility(NestedStack(parent, "Child"))
    assert at_synth(app) == [f"{VISIBILITY} at Parent/Child/Queue/Resource"]


def test_without_logical_id_metadata_synth_still_finds_through_the_construct_tree() -> None:
    app = App(context={**cdk_context(), "@aws-cdk/core:disableLogicalIdMetadata": True})
    short_visibility(Stack(app, "Orders", env=TEST_ENV))
    assert at_synth(app) == [f"{VISIBILITY} at Orders/Queue/Resource"]


def _rule(check: Callable[[Resource, RuleContext], RuleResult]) -> Rule:
    return Rule(
        id="Custom",
        level=NagMessageLevel.WARN,
        resource_types=("AWS::SQS::Queue",),
        info="A custom rule.",
        explanation="A rule a test defines.",
        check=check,
    )


def _pack_with(rule: Rule, *, verbose: bool = False) -> ServerlessPatternsChecks:
    pack = ServerlessPatternsChecks(verbose=verbose)
    pack._rules_by_type = {"AWS::SQS::Queue": [rule]}
    return pack


def _raises(resource: Resource, context: RuleContext) -> RuleResult:
    raise KeyError("a property the rule did not expect")


def _two_parts(resource: Resource, context: RuleContext) -> RuleResult:
    return ["first", "second"]


@pytest.mark.parametrize("verbose", [False, True], ids=["terse", "verbose"])
def test_findings_read_as_cdk_nag_writes_them(verbose: bool) -> None:
    """Rule ids, one violation per part, severities and descriptions as cdk-nag's own
    ``applyRule`` writes them (``both_views`` compares the synth view with it)."""
    app = new_app()
    stack = Stack(app, "Orders", env=TEST_ENV)
    sqs.Queue(stack, "A")
    sqs.Queue(stack, "B")
    found = both_views(_pack_with(_rule(_two_parts), verbose=verbose), app)
    assert sorted(f"{v.rule} at {v.path} ({v.severity})" for v in found) == [
        f"{PACK_NAME}-Custom[{part}] at Orders/{queue}/Resource (warning)"
        for part in ("first", "second")
        for queue in ("A", "B")
    ]
    expected = "A custom rule. A rule a test defines." if verbose else "A custom rule."
    assert {v.description for v in found} == {expected}


def test_one_part_of_a_rule_acknowledged_hides_that_part_only() -> None:
    app = new_app()
    queue = sqs.Queue(Stack(app, "Orders", env=TEST_ENV), "A")
    acknowledge(queue, f"{PACK_NAME}-Custom[first]", "Test: this part does not apply.")
    assert [v.rule for v in both_views(_pack_with(_rule(_two_parts)), app)] == [
        f"{PACK_NAME}-Custom[second]"
    ]


@pytest.mark.parametrize("verbose", [False, True], ids=["terse", "verbose"])
def test_a_rule_that_raises_is_reported_on_each_resource_as_cdk_nag_reports_it(
    verbose: bool,
) -> None:
    """The pack runs each check in Python; an exception is reported on the resource as
    cdk-nag's ``applyRule`` reports one ("Rule threw an error during validation"), with the
    error's text when verbose."""
    app = new_app()
    queue_with_dlq(Stack(app, "Orders", env=TEST_ENV), "A")
    found = both_views(_pack_with(_rule(_raises), verbose=verbose), app)
    assert sorted((v.rule, v.path) for v in found) == [
        (f"{PACK_NAME}-Custom", "Orders/A/Resource"),
        (f"{PACK_NAME}-Custom", "Orders/ADlq/Resource"),
    ]
    detail = (
        "'a property the rule did not expect'"
        if verbose
        else "This is generally caused by a parameter referencing an intrinsic function."
    )
    assert {v.description for v in found} == {f"Rule threw an error during validation. {detail}"}


def test_at_synth_the_pack_makes_no_kernel_request_per_resource(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """At synth the pack reads files: its requests to the node kernel (the validation
    context, each stack's name and files, the acknowledgments above the stacks) grow with the
    stacks, not with the resources checked (the construct tree costs several per resource)."""
    app = new_app()
    stacks = build_reference_app(app)
    requests: list[int] = []
    validate = ServerlessPatternsChecks.validate
    send = _NodeProcess.send

    def counted(self: ServerlessPatternsChecks, context: Any) -> Any:
        sent: list[object] = []

        def counting(process: _NodeProcess, request: Any, *args: Any) -> Any:
            sent.append(request)
            return send(process, request, *args)

        with monkeypatch.context() as patch:
            patch.setattr(_NodeProcess, "send", counting)
            report = validate(self, context)
        requests.append(len(sent))
        return report

    monkeypatch.setattr(ServerlessPatternsChecks, "validate", counted)
    add_checks(app)
    app.synth()
    resources = len(list(tree_index(app)))
    assert len(requests) == 1 and resources > 300
    assert requests[0] <= 10 * (1 + len(stacks)), (requests, len(stacks), resources)
