#!/usr/bin/env python3
"""Reference app: one stack per pattern, checked by cdk-nag at synth.

``cdk synth -c hardened=true`` (``make synth-compliance``) synthesizes the regulated
configuration (a customer-managed key per stack, a web ACL on each API) under the NIST 800-53
R5, HIPAA Security and PCI DSS 3.2.1 packs too.
"""

from aws_cdk import App

from serverless_patterns.checks import add_checks
from serverless_patterns.stacks import build_reference_app

app = App()
hardened = app.node.try_get_context("hardened") in (True, "true")
build_reference_app(app, hardened=hardened)
add_checks(app, compliance=hardened)
app.synth()
