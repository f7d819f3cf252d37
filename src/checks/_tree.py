"""The rules' view read from the construct tree, before synth: what ``validate_scope`` reads.

Each property is resolved with ``Stack.resolve`` and rendered by its L1, as synth would write
it. Raw overrides (``add_property_override``) are not part of this view: aws-cdk-lib keeps them
private until it writes the template (the view read at synth, ``_assembly``, has them). Every
read here is a round trip to the node kernel, so each is made once.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import jsii
from aws_cdk import CfnResource, Stack, Token

from constructs import IConstruct
from serverless_patterns.checks._resources import DEFAULT_ENVIRONMENT, Resource, ResourceIndex
from serverless_patterns.checks._values import json_value

#: The intrinsic-like marker of a property a typed L1 could not render (an unknown value).
_UNRENDERED = "Fn::Unrendered"


def tree_index(root: IConstruct) -> ResourceIndex:
    """Every CloudFormation resource of the tree below ``root``."""
    stacks: dict[int, tuple[str, tuple[str, str]]] = {}  # id(stack) -> path, environment
    resources = []
    for construct in root.node.find_all():
        # jsii gives every L1 a proxy of its CfnResource subclass (as is_cfn_resource
        # answers), and isinstance needs no round trip to the node kernel
        if not isinstance(construct, CfnResource):
            continue
        stack = Stack.of(construct)
        if id(stack) not in stacks:  # jsii hands back one proxy per JavaScript object
            stacks[id(stack)] = (str(stack.node.path), _environment(stack))
        stack_path, environment = stacks[id(stack)]
        resources.append(
            Resource(
                logical_id=str(stack.resolve(construct.logical_id)),
                type=construct.cfn_resource_type,
                path=str(construct.node.path),
                stack_path=stack_path,
                environment=environment,
                load_props=_props_loader(construct, stack),
            )
        )
    return ResourceIndex(resources)


def _environment(stack: Stack) -> tuple[str, str]:
    account, region = stack.account, stack.region
    return (
        DEFAULT_ENVIRONMENT if Token.is_unresolved(account) else account,
        DEFAULT_ENVIRONMENT if Token.is_unresolved(region) else region,
    )


def _props_loader(node: CfnResource, stack: Stack) -> Callable[[], dict[str, Any]]:
    def load() -> dict[str, Any]:
        resolved = _properties(node, stack)
        rendered = _render(node, resolved) if resolved else {}
        return dict(stack.resolve(rendered) or {})

    return load


def _properties(node: CfnResource, stack: Stack) -> dict[str, Any]:
    """The resolved properties of an L1 (camelCase keys).

    A CfnInclude'd reference where the L1 expects a map (``Environment.Variables: !Ref P``)
    cannot cross from aws-cdk-lib to Python in the whole property set: then each property is
    read alone, and one that still cannot cross is unknown.
    """
    try:
        return dict(stack.resolve(node._cfn_properties) or {})
    except RuntimeError:
        pass
    properties: dict[str, Any] = {}
    for name in node._cfn_property_names:
        try:
            value = stack.resolve(jsii.get(node, name))
        except RuntimeError:
            value = {_UNRENDERED: name}
        if value is not None:
            properties[name] = value
    return properties


def _render(node: CfnResource, resolved: Mapping[str, Any]) -> Mapping[str, Any]:
    """``resolved`` (camelCase keys) as the template's properties (PascalCase keys).

    aws-cdk-lib's typed L1s check the types of their properties while rendering them, more
    narrowly than CloudFormation: a Json property given as a JSON string (which CloudFormation
    accepts, e.g. ``RedrivePolicy`` of an ``AWS::SQS::Queue`` loaded with CfnInclude) makes
    the whole rendering throw. Then each property is rendered on its own: one the L1 rejects
    keeps its value if it is a string (such as a JSON string, read by ``json_value``), and is
    otherwise unknown (``{"Fn::Unrendered": <name>}``) so that no rule reports it.
    """
    try:
        return dict(node._render_properties(dict(resolved)) or {})
    except RuntimeError:  # the L1's validation, raised through jsii
        pass
    placeholders = {key: {_UNRENDERED: key} for key in resolved}  # pass any validation
    names = dict(node._cfn_property_names)  # camelCase -> PascalCase
    rendered: dict[str, Any] = {}
    for key, value in resolved.items():
        name = names.get(key, key[:1].upper() + key[1:])
        rendered[name] = value if isinstance(value, str) else {_UNRENDERED: key}
        for attempt in (value, _parse_json_strings(value)):
            try:
                rendered[name] = node._render_properties({**placeholders, key: attempt})[name]
                break
            except (RuntimeError, KeyError):
                continue
    return rendered


def _parse_json_strings(value: Any) -> Any:
    """``value`` with every string inside it that holds a JSON object or array parsed (such
    as a ``PolicyDocument`` inside ``Policies``)."""
    if isinstance(value, Mapping):
        return {k: _parse_json_strings(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_parse_json_strings(v) for v in value]
    parsed = json_value(value)
    return parsed if isinstance(parsed, dict | list) else value
