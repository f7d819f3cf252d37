"""cdk-nag AwsSolutions and Serverless packs over every reference stack: zero findings.

Every acknowledgment sits on the resource it concerns, names one finding and gives a reason.
"""

from __future__ import annotations

import re

import pytest
from aws_cdk import App, Stack, Stage, Validations
from aws_cdk import aws_sqs as sqs
from cdk_nag import AwsSolutionsChecks, NagPack, ServerlessChecks

from constructs import IConstruct
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
