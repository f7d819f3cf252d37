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
