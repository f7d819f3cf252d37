"""Resolve a template value to the string CloudFormation makes of it at deploy time.

Values that exist only after deployment (a generated function name, a queue name) become
symbolic tokens such as ``«Function.OrdersFunction1234»``, so two expressions that name the
same deployed thing resolve to the same string and can be compared. The tokens contain none of
the characters the templates split or join on (``|``, ``:``, ``/``, ``,``).

What each ``Ref`` and ``Fn::GetAtt`` returns is taken from the resource's "Return values" in the
AWS CloudFormation resource reference (AWS::Lambda::Function, AWS::Lambda::Version,
AWS::Lambda::Alias, AWS::SQS::Queue, AWS::Events::EventBus, AWS::Events::Rule,
AWS::ApiGateway::RestApi, https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

Template = Mapping[str, Any]

#: The name EventBridge gives the account's default bus (a rule without ``EventBusName``).
DEFAULT_BUS = "default"


class Unresolvable(ValueError):
    """A value this resolver cannot turn into a deploy-time string."""


def token(kind: str, logical_id: str) -> str:
    """The symbolic deploy-time value ``kind`` of resource ``logical_id``."""
    return f"«{kind}.{logical_id}»"


def resources(template: Template) -> Mapping[str, Any]:
    resources_: Mapping[str, Any] = template.get("Resources", {})
    return resources_


def resource_type(template: Template, logical_id: str) -> str | None:
    found = resources(template).get(logical_id)
    return None if found is None else str(found.get("Type"))


def properties(template: Template, logical_id: str) -> Mapping[str, Any]:
    props: Mapping[str, Any] = resources(template)[logical_id].get("Properties", {})
    return props


def resolve(template: Template, value: Any) -> str:
    """The deploy-time string of ``value`` (literal, ``Ref``, ``Fn::GetAtt``, ``Fn::Join``,
    ``Fn::Select`` of ``Fn::Split``); raises ``Unresolvable`` for anything else."""
    if isinstance(value, str):
        return value
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)
    if isinstance(value, Mapping) and len(value) == 1:
        [(function, argument)] = value.items()
        if function == "Ref":
            return _ref(template, str(argument))
        if function == "Fn::GetAtt":
            return _get_att(template, argument)
        if function == "Fn::Join":
            delimiter, parts = argument
            return str(delimiter).join(resolve(template, part) for part in parts)
        if function == "Fn::Select":
            index, items = argument
            return _select(template, int(resolve(template, index)), items)
    raise Unresolvable(f"cannot resolve {value!r}")


def _select(template: Template, index: int, items: Any) -> str:
    if isinstance(items, Mapping) and set(items) == {"Fn::Split"}:
        delimiter, source = items["Fn::Split"]
        pieces = resolve(template, source).split(str(delimiter))
    elif isinstance(items, list):
        pieces = [resolve(template, item) for item in items]
    else:
        raise Unresolvable(f"cannot resolve Fn::Select over {items!r}")
    if not 0 <= index < len(pieces):
        raise Unresolvable(f"Fn::Select index {index} out of range of {pieces!r}")
    return pieces[index]


def _ref(template: Template, logical_id: str) -> str:
    kind = resource_type(template, logical_id)
    if kind is None:
        raise Unresolvable(f"Ref to {logical_id!r}, which is not a resource of this template")
    if kind == "AWS::Lambda::Function":
        return function_name(template, logical_id)
    if kind == "AWS::SQS::Queue":
        return token("QueueUrl", logical_id)  # Ref of a queue is its URL, not its name
    if kind == "AWS::Events::EventBus":
        return bus_name(template, logical_id)
    if kind == "AWS::Events::Rule":
        return rule_ref(template, logical_id)
    if kind == "AWS::ApiGateway::RestApi":
        return token("RestApiId", logical_id)  # Ref of a RestApi is its id, not its name
    return token("Ref-" + kind.replace("::", "-"), logical_id)


def _get_att(template: Template, argument: Any) -> str:
    logical_id, attribute = argument if isinstance(argument, list) else argument.split(".", 1)
    kind = resource_type(template, logical_id)
    if kind == "AWS::SQS::Queue" and attribute == "QueueName":
        return queue_name(template, logical_id)
    if kind == "AWS::Lambda::Version" and attribute == "Version":
        return token("Version", logical_id)
    if kind == "AWS::Events::EventBus" and attribute == "Name":
        return bus_name(template, logical_id)
    if kind is None:
        raise Unresolvable(f"Fn::GetAtt of {logical_id!r}, which is not a resource")
    return token(f"{attribute}", logical_id)


def _named(template: Template, logical_id: str, name_property: str, kind: str) -> str:
    name = properties(template, logical_id).get(name_property)
    return name if isinstance(name, str) else token(kind, logical_id)


def function_name(template: Template, logical_id: str) -> str:
    """The name of function ``logical_id``: its ``FunctionName`` or a generated one."""
    return _named(template, logical_id, "FunctionName", "Function")


def queue_name(template: Template, logical_id: str) -> str:
    """The name of queue ``logical_id``: its ``QueueName`` or a generated one."""
    return _named(template, logical_id, "QueueName", "Queue")


def bus_name(template: Template, logical_id: str) -> str:
    """The name of custom bus ``logical_id`` (``Name`` is required)."""
    return _named(template, logical_id, "Name", "EventBus")


def rule_name(template: Template, logical_id: str) -> str:
    """The bare name of rule ``logical_id``: its ``Name`` or a generated one."""
    return _named(template, logical_id, "Name", "Rule")


def rule_bus(template: Template, logical_id: str) -> str:
    """The name of the bus rule ``logical_id`` is on (``default`` without ``EventBusName``)."""
    bus = properties(template, logical_id).get("EventBusName")
    if bus is None:
        return DEFAULT_BUS
    resolved = resolve(template, bus)
    # EventBusName may also be the bus ARN (arn:...:event-bus/<name>).
    return resolved.rsplit("event-bus/", 1)[-1]


def rule_ref(template: Template, logical_id: str) -> str:
    """What ``Ref`` of rule ``logical_id`` returns: the bare name on the default bus, and
    ``<bus name>|<rule name>`` on a custom bus (reported in
    aws-cloudformation/cloudformation-coverage-roadmap#1131, "Documentation for !Ref of an
    AWS::Events::Rule not fully documented")."""
    bus = rule_bus(template, logical_id)
    name = rule_name(template, logical_id)
    return name if bus == DEFAULT_BUS else f"{bus}|{name}"
