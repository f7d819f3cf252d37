"""Checks any CDK app can apply: ``add_checks(app)`` runs the cdk-nag packs at synth."""

from __future__ import annotations

from aws_cdk import App, Stage, Validations
from cdk_nag import AwsSolutionsChecks, ServerlessChecks


def add_checks(app: App | Stage) -> None:
    """Adds the cdk-nag AwsSolutions and Serverless packs to ``app`` as validation plugins.

    Synth then fails on any finding not acknowledged on the resource it concerns.
    Acknowledgments are also written to template metadata, so a snapshot diff shows each one.
    """
    Validations.of(app).add_plugins(
        AwsSolutionsChecks(app, write_suppressions_to_cloud_formation=True),
        ServerlessChecks(app, write_suppressions_to_cloud_formation=True),
    )
