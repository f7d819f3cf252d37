"""Checks any CDK app can apply: ``add_checks(app)`` runs the cdk-nag packs at synth;
``add_checks(app, compliance=True)`` adds the NIST 800-53 R5, HIPAA Security and PCI DSS 3.2.1
packs.

``acknowledge(construct, finding, reason)`` records one finding as acknowledged on the resource
it concerns, the way this library acknowledges its own.

``ServerlessPatternsChecks`` is this library's own cdk-nag pack (serverless anti-patterns);
``FunctionBaseline`` is an opt-in Aspect giving every Lambda function the baseline settings.
"""

from __future__ import annotations

from aws_cdk import App, Stage, Validations
from cdk_nag import (
    AwsSolutionsChecks,
    HIPAASecurityChecks,
    NagPack,
    NIST80053R5Checks,
    PCIDSS321Checks,
    ServerlessChecks,
)

from serverless_patterns.checks.baseline import FunctionBaseline
from serverless_patterns.checks.serverless_pack import (
    PACK_NAME,
    RULE_IDS,
    ServerlessPatternsChecks,
)
from serverless_patterns.constructs._nag import acknowledge

#: cdk-nag's compliance packs ``add_checks(app, compliance=True)`` adds.
COMPLIANCE_PACKS: tuple[type[NagPack], ...] = (
    NIST80053R5Checks,
    HIPAASecurityChecks,
    PCIDSS321Checks,
)


def add_checks(app: App | Stage, *, compliance: bool = False) -> None:
    """Adds the cdk-nag AwsSolutions, Serverless and ServerlessPatterns packs to ``app``.

    They run as validation plugins: synth then fails on any finding not acknowledged on the
    resource it concerns. Acknowledgments are also written to template metadata, so a
    snapshot diff shows each one.

    :param compliance: also add ``COMPLIANCE_PACKS`` (NIST 800-53 R5, HIPAA Security,
        PCI DSS 3.2.1), for regulated workloads. Default: - not added.
    """
    # One pack writes the acknowledgments into template metadata: cdk-nag's Aspect writes
    # every acknowledged id whatever the pack, so a second one would only repeat the walk.
    packs: list[NagPack] = [
        AwsSolutionsChecks(app, write_suppressions_to_cloud_formation=True),
        ServerlessChecks(app),
    ]
    if compliance:
        packs.extend(pack(app) for pack in COMPLIANCE_PACKS)
    Validations.of(app).add_plugins(*packs, ServerlessPatternsChecks(app))


__all__ = [
    "COMPLIANCE_PACKS",
    "PACK_NAME",
    "RULE_IDS",
    "FunctionBaseline",
    "ServerlessPatternsChecks",
    "acknowledge",
    "add_checks",
]
