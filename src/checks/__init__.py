"""Checks any CDK app can apply: ``add_checks(app)`` runs the cdk-nag packs at synth.

``acknowledge(construct, finding, reason)`` records one finding as acknowledged on the resource
it concerns, the way this library acknowledges its own.

``ServerlessPatternsChecks`` is this library's own cdk-nag pack (serverless anti-patterns);
``FunctionBaseline`` is an opt-in Aspect giving every Lambda function the baseline settings.
"""

from __future__ import annotations

from aws_cdk import App, Stage, Validations
from cdk_nag import AwsSolutionsChecks, ServerlessChecks

from serverless_patterns.checks.baseline import FunctionBaseline
from serverless_patterns.checks.serverless_pack import (
    PACK_NAME,
    RULE_IDS,
    ServerlessPatternsChecks,
)
from serverless_patterns.constructs._nag import acknowledge


def add_checks(app: App | Stage) -> None:
    """Adds the cdk-nag AwsSolutions, Serverless and ServerlessPatterns packs to ``app``.

    They run as validation plugins: synth then fails on any finding not acknowledged on the
    resource it concerns. Acknowledgments are also written to template metadata, so a
    snapshot diff shows each one.
    """
    Validations.of(app).add_plugins(
        AwsSolutionsChecks(app, write_suppressions_to_cloud_formation=True),
        ServerlessChecks(app, write_suppressions_to_cloud_formation=True),
        ServerlessPatternsChecks(app),
    )


__all__ = [
    "PACK_NAME",
    "RULE_IDS",
    "FunctionBaseline",
    "ServerlessPatternsChecks",
    "acknowledge",
    "add_checks",
]
