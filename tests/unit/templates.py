"""Small readers of synthesized templates shared by the unit tests."""

from __future__ import annotations

from typing import Any

from aws_cdk import Stack
from aws_cdk.assertions import Template


def only(template: Template, resource_type: str) -> dict[str, Any]:
    """The one resource of ``resource_type`` in the template (fails if there are more)."""
    found = template.find_resources(resource_type)
    assert len(found) == 1, list(found)
    [resource] = found.values()
    return dict(resource)


def logical_id(stack: Stack, construct: Any) -> str:
    """The logical id of a construct's CloudFormation resource."""
    return str(stack.resolve(construct.node.default_child.logical_id))
