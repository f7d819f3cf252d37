#!/usr/bin/env python3
"""Reference app: one stack per pattern, checked by cdk-nag at synth."""

from aws_cdk import App

from serverless_patterns.checks import add_checks
from serverless_patterns.stacks import build_reference_app

app = App()
build_reference_app(app)
add_checks(app)
app.synth()
