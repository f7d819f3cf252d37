"""cdk-nag AwsSolutions and Serverless packs over every reference stack: zero findings.

Every acknowledgment sits on the resource it concerns, names one finding and gives a reason.
"""

from __future__ import annotations

import re
from typing import cast

import pytest
from aws_cdk import App, Stack, Stage, Validations
from aws_cdk import aws_logs as logs
from aws_cdk import aws_sqs as sqs
from cdk_nag import AwsSolutionsChecks, NagPack, ServerlessChecks

from constructs import IConstruct
from serverless_patterns.checks import COMPLIANCE_PACKS, ServerlessPatternsChecks, add_checks
from serverless_patterns.constructs._encryption import ACCOUNT_STATEMENT_SID
from serverless_patterns.stacks import build_reference_app
from tests.conftest import nag_findings, new_app

PACKS = [AwsSolutionsChecks, ServerlessChecks]
#: One rule, optionally one finding of it: ``AwsSolutions-IAM5[Resource::*]``.
ONE_FINDING = re.compile(
    r"^(AwsSolutions|Serverless|ServerlessPatterns|NIST\.800\.53\.R5|HIPAA\.Security|PCI\.DSS\.321)"
    r"-[A-Za-z0-9]+(\[[^\]]+\])?$"
)


def findings(pack_type: type[NagPack], scope: IConstruct) -> list[str]:
    return nag_findings(pack_type(scope), scope)


@pytest.mark.parametrize("pack_type", PACKS, ids=lambda p: p.__name__)
def test_reference_stacks_have_no_unacknowledged_findings(
    reference_app: tuple[App, list[Stack]], pack_type: type[NagPack]
) -> None:
    _, stacks = reference_app
    assert stacks
    for stack in stacks:
        assert findings(pack_type, stack) == [], stack.stack_name


def test_packs_report_an_unacknowledged_finding() -> None:
    app = new_app()
    stack = Stack(app, "Bad")
    sqs.Queue(stack, "Plain", encryption=sqs.QueueEncryption.UNENCRYPTED)
    assert "AwsSolutions-SQS2 at Bad/Plain/Resource" in findings(AwsSolutionsChecks, stack)
    assert "Serverless-SQSRedrivePolicy at Bad/Plain/Resource" in findings(ServerlessChecks, stack)


def acknowledgments(root: IConstruct) -> list[tuple[IConstruct, str, str]]:
    key = Validations.ACKNOWLEDGED_RULES_METADATA_KEY
    found: list[tuple[IConstruct, str, str]] = []
    for construct in root.node.find_all():
        for entry in construct.node.metadata:
            if entry.type == key:  # data: {"<source>::<rule id>": reason}
                for source_and_id, reason in entry.data.items():
                    found.append((construct, source_and_id.split("::", 1)[-1], reason))
    return found


def test_every_acknowledgment_is_specific_and_on_a_resource(
    reference_app: tuple[App, list[Stack]],
) -> None:
    app, _ = reference_app
    found = acknowledgments(app)
    assert found, "the reference app acknowledges findings; none were read"
    for construct, finding, reason in found:
        where = construct.node.path
        assert not isinstance(construct, (Stack, Stage)), f"scope-wide acknowledgment at {where}"
        assert ONE_FINDING.match(finding), f"{where}: {finding!r} does not name one finding"
        assert len(reason) >= 40, f"{where}: reason for {finding} is too thin: {reason!r}"


# --- regulated workloads (issue 16) ---------------------------------------------------------

#: The six packs of ``make synth-compliance`` (mypy takes the library's own pack for abstract).
ALL_PACKS: list[type[NagPack]] = [
    AwsSolutionsChecks,
    ServerlessChecks,
    cast("type[NagPack]", ServerlessPatternsChecks),
    *COMPLIANCE_PACKS,
]


@pytest.fixture(scope="module")
def hardened_app() -> tuple[App, list[Stack]]:
    """The reference app in its hardened configuration, as ``cdk synth -c hardened=true``
    builds it (the packs are run per stack by the tests)."""
    app = new_app()
    stacks = build_reference_app(app, hardened=True)
    return app, stacks


@pytest.mark.parametrize("pack_type", ALL_PACKS, ids=lambda p: p.__name__)
def test_hardened_reference_stacks_have_no_unacknowledged_findings(
    hardened_app: tuple[App, list[Stack]], pack_type: type[NagPack]
) -> None:
    _, stacks = hardened_app
    assert len(stacks) >= 6
    for stack in stacks:
        assert findings(pack_type, stack) == [], stack.stack_name


def test_hardened_stacks_encrypt_every_log_group_with_their_key(
    hardened_app: tuple[App, list[Stack]],
) -> None:
    app, stacks = hardened_app
    assembly = app.synth()
    for stack in stacks:
        resources = assembly.get_stack_by_name(stack.stack_name).template["Resources"]
        assert any(r["Type"] == "AWS::KMS::Key" for r in resources.values()), stack.stack_name
        for name, group in resources.items():
            if group["Type"] == "AWS::Logs::LogGroup":
                assert "KmsKeyId" in group["Properties"], f"{stack.stack_name}/{name}"


def test_add_checks_with_compliance_fails_synth_on_a_finding() -> None:
    app = new_app()
    logs.LogGroup(Stack(app, "Bad"), "Plain")
    add_checks(app, compliance=True)
    with pytest.raises(RuntimeError, match="ValidationFailed") as raised:
        app.synth()
    for pack in ("NIST.800.53.R5", "HIPAA.Security", "PCI.DSS.321"):
        assert f"{pack}::{pack}-CloudWatchLogGroupEncrypted" in str(raised.value)


def test_add_checks_without_compliance_leaves_the_compliance_packs_out() -> None:
    app = new_app()
    logs.LogGroup(Stack(app, "Plain"), "Group", retention=logs.RetentionDays.ONE_DAY)
    add_checks(app)
    app.synth()  # an unencrypted log group is only a compliance finding


def test_every_hardened_acknowledgment_is_specific_and_on_a_resource(
    hardened_app: tuple[App, list[Stack]],
) -> None:
    _, stacks = hardened_app
    found = [a for stack in stacks for a in acknowledgments(stack)]
    assert any(finding.startswith("NIST.800.53.R5-") for _, finding, _ in found)
    for construct, finding, reason in found:
        where = construct.node.path
        assert not isinstance(construct, (Stack, Stage)), f"scope-wide acknowledgment at {where}"
        assert ONE_FINDING.match(finding), f"{where}: {finding!r} does not name one finding"
        assert len(reason) >= 40, f"{where}: reason for {finding} is too thin: {reason!r}"


def test_library_key_policies_name_the_account_statement(
    hardened_app: tuple[App, list[Stack]],
) -> None:
    """ "Default key policy" (AWS KMS Developer Guide): the account statement is what lets IAM
    policies use the key; every key the library or the reference app writes names it."""
    app, stacks = hardened_app
    assembly = app.synth()
    for stack in stacks:
        resources = assembly.get_stack_by_name(stack.stack_name).template["Resources"]
        for name, key in resources.items():
            if key["Type"] != "AWS::KMS::Key":
                continue
            statements = key["Properties"]["KeyPolicy"]["Statement"]
            root = [s for s in statements if s["Action"] == "kms:*"]
            assert [s.get("Sid") for s in root] == [ACCOUNT_STATEMENT_SID], name
