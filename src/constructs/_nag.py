"""The one place that records cdk-nag findings as acknowledged (cdk-nag 3 validations API)."""

from __future__ import annotations

from aws_cdk import Acknowledgment, Validations

from constructs import IConstruct


def acknowledge(construct: IConstruct, finding: str, reason: str) -> None:
    """Acknowledges one cdk-nag finding on the construct that has it.

    :param construct: the resource the finding concerns (never a stack or an app).
    :param finding: one rule id, or one part of a rule such as ``AwsSolutions-IAM5[Resource::*]``.
    :param reason: why the finding does not apply here; a reviewer must be able to accept it.
    """
    if not reason.strip():
        raise ValueError(f"{construct.node.path}: acknowledging {finding!r} needs a reason")
    Validations.of(construct).acknowledge(Acknowledgment(id=finding, reason=reason))


#: Why a table the library creates is in no AWS Backup plan.
PITR_INSTEAD_OF_BACKUP_PLAN = (
    "Point-in-time recovery is on: any second of the last 35 days can be restored. An AWS "
    "Backup plan is an account-level choice (vault, schedule, retention) the library does not "
    "own; add the table to yours where policy asks for one."
)

#: Prefixes of cdk-nag's compliance packs: NIST 800-53 R5, HIPAA Security, PCI DSS 3.2.1.
NIST = "NIST.800.53.R5"
HIPAA = "HIPAA.Security"
PCI = "PCI.DSS.321"
COMPLIANCE_PACKS = (NIST, HIPAA, PCI)


def acknowledge_compliance(
    construct: IConstruct, rule: str, reason: str, packs: tuple[str, ...] = COMPLIANCE_PACKS
) -> None:
    """Acknowledges the compliance packs' rule ``rule`` (for example ``LambdaInsideVPC``) on
    ``construct``, once per pack in ``packs`` (the packs that have the rule)."""
    for pack in packs:
        acknowledge(construct, f"{pack}-{rule}", reason)


def acknowledge_no_dlq(function: IConstruct, reason: str) -> None:
    """Acknowledges that ``function`` has no dead-letter queue, in every pack that asks for
    one (Serverless, and NIST 800-53 R5 and HIPAA Security), with one reason."""
    acknowledge(function, "Serverless-LambdaDLQ", reason)
    acknowledge_compliance(function, "LambdaDLQ", reason, (NIST, HIPAA))
