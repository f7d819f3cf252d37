"""The runtime table agrees with the aws-cdk-lib it ships with."""

from __future__ import annotations

import inspect

from aws_cdk import aws_lambda as lambda_

from serverless_patterns.checks import runtimes


def cdk_runtimes() -> dict[str, bool]:
    """Every runtime aws-cdk-lib names: identifier -> marked deprecated."""
    found: dict[str, bool] = {}
    for attribute in dir(lambda_.Runtime):
        if not attribute.isupper():
            continue
        runtime = getattr(lambda_.Runtime, attribute)
        if not isinstance(runtime, lambda_.Runtime) or runtime.family is None:
            continue
        getter = getattr(inspect.getattr_static(lambda_.Runtime, attribute), "fget", None)
        doc = getattr(getter, "__doc__", None) or ""
        found[runtime.name] = doc.startswith("(deprecated)")
    return found


def test_deprecated_runtimes_are_those_aws_cdk_lib_marks_deprecated() -> None:
    marked = {name for name, deprecated in cdk_runtimes().items() if deprecated}
    listed = set().union(*(family.deprecated for family in runtimes.FAMILIES))
    assert marked == listed


def test_every_supported_runtime_is_either_the_latest_or_known_older() -> None:
    supported = {name for name, deprecated in cdk_runtimes().items() if not deprecated}
    latest = {family.latest for family in runtimes.FAMILIES}
    assert supported == latest | runtimes.KNOWN_SUPPORTED


def test_runtime_classification() -> None:
    assert runtimes.is_deprecated("python3.9")
    assert not runtimes.is_deprecated("python3.13")
    assert runtimes.is_older_than_latest("python3.13")
    assert not runtimes.is_older_than_latest("python3.14")
    assert not runtimes.is_older_than_latest("python3.15")  # newer than the table
    assert not runtimes.is_older_than_latest("cobol1.0")
    assert runtimes.python_version("python3.14") == (3, 14)
    assert runtimes.python_version("nodejs24.x") is None
