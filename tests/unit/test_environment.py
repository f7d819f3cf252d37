"""The installed aws-cdk-lib is whole: its cloud_assembly_schema module is its own.

aws-cdk-lib and its dependency aws-cdk.cloud-assembly-schema both ship
``aws_cdk/cloud_assembly_schema/__init__.py``; the one installed last wins. With the standalone
file, jsii cannot map aws-cdk-lib's ``MetadataEntry`` and ``assertions.Annotations`` raises
"Unknown interface: aws-cdk-lib.cloud_assembly_schema.MetadataEntry" (a parallel installer
such as uv can install in either order; the Makefile installs aws-cdk-lib again, last).
"""

from __future__ import annotations

from aws_cdk import Annotations, App, Stack, assertions


def test_warnings_can_be_read_back_with_assertions() -> None:
    stack = Stack(App(), "Test")
    Annotations.of(stack).add_warning_v2("test:warning", "a warning")
    found_all = assertions.Annotations.from_stack(stack)
    [found] = found_all.find_warning("*", assertions.Match.any_value())
    assert str(found.entry.data).startswith("a warning")
