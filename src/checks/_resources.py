"""The synthesized view the rules read: every CloudFormation resource of an app, resolved.

Rules see a resource as its CloudFormation type and its properties as the template holds
them, and follow ``Ref`` / ``Fn::GetAtt`` to other resources of the same stack. A value that
stays an intrinsic function (a parameter, an import, a value computed at deploy time) is
*unknown*: rules report nothing for it rather than guess.

Two readers build this view: ``_assembly`` from the templates synth wrote (what the pack reads
at synth), ``_tree`` from the construct tree (``validate_scope``, before any synth).
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from serverless_patterns.checks._values import json_value, string_parts

LAMBDA_FUNCTION = "AWS::Lambda::Function"
LAMBDA_ALIAS = "AWS::Lambda::Alias"
LAMBDA_VERSION = "AWS::Lambda::Version"
LAMBDA_PERMISSION = "AWS::Lambda::Permission"
LAMBDA_EVENT_SOURCE_MAPPING = "AWS::Lambda::EventSourceMapping"
LAMBDA_EVENT_INVOKE_CONFIG = "AWS::Lambda::EventInvokeConfig"
SQS_QUEUE = "AWS::SQS::Queue"
SNS_TOPIC = "AWS::SNS::Topic"
SNS_SUBSCRIPTION = "AWS::SNS::Subscription"
S3_BUCKET = "AWS::S3::Bucket"
S3_NOTIFICATIONS = "Custom::S3BucketNotifications"
EVENTS_RULE = "AWS::Events::Rule"
IAM_ROLE = "AWS::IAM::Role"
IAM_POLICY = "AWS::IAM::Policy"
IAM_MANAGED_POLICY = "AWS::IAM::ManagedPolicy"
LOG_GROUP = "AWS::Logs::LogGroup"
LOG_RETENTION = "Custom::LogRetention"
_FUNCTION_TYPES = (LAMBDA_FUNCTION, LAMBDA_ALIAS, LAMBDA_VERSION)
_INTEGER = re.compile(r"-?[0-9]+")


def is_intrinsic(value: Any) -> bool:
    """Whether a resolved value is an intrinsic function (known only at deploy time)."""
    if not isinstance(value, Mapping) or len(value) != 1:
        return False
    key = next(iter(value))
    return isinstance(key, str) and (key in ("Ref", "Condition") or key.startswith("Fn::"))


def is_known(value: Any) -> bool:
    """Whether a resolved value holds no intrinsic function anywhere."""
    if is_intrinsic(value):
        return False
    if isinstance(value, Mapping):
        return all(is_known(v) for v in value.values())
    if isinstance(value, list):
        return all(is_known(v) for v in value)
    return True


def referenced_id(value: Any) -> str | None:
    """The logical id a ``Ref`` or ``Fn::GetAtt`` names, else None."""
    if isinstance(value, Mapping) and len(value) == 1:
        if isinstance(value.get("Ref"), str):
            return str(value["Ref"])
        get_att = value.get("Fn::GetAtt")
        if isinstance(get_att, list) and get_att and isinstance(get_att[0], str):
            return str(get_att[0])
    return None


def referenced_ids(value: Any) -> set[str]:
    """Every logical id a ``Ref`` or ``Fn::GetAtt`` in ``value`` names (pseudo parameters
    such as ``AWS::Region`` included; look them up to keep resources only)."""
    found: set[str] = set()
    direct = referenced_id(value)
    if direct is not None:
        found.add(direct)
    elif isinstance(value, Mapping):
        for item in value.values():
            found |= referenced_ids(item)
    elif isinstance(value, list):
        for item in value:
            found |= referenced_ids(item)
    return found


def mentions(value: Any, logical_id: str) -> bool:
    """Whether ``Ref`` / ``Fn::GetAtt`` of ``logical_id`` appears anywhere in ``value``."""
    if referenced_id(value) == logical_id:
        return True
    if isinstance(value, Mapping):
        return any(mentions(v, logical_id) for v in value.values())
    if isinstance(value, list):
        return any(mentions(v, logical_id) for v in value)
    return False


def _is_conditional(value: Any) -> bool:
    """Whether ``Fn::If`` appears anywhere in ``value`` (which branch applies is unknown)."""
    if isinstance(value, Mapping):
        return "Fn::If" in value or any(_is_conditional(v) for v in value.values())
    if isinstance(value, list):
        return any(_is_conditional(v) for v in value)
    return False


def as_list(value: Any) -> list[Any]:
    """A CloudFormation "string or list" value as a list."""
    if value is None:
        return []
    return list(value) if isinstance(value, list) else [value]


def as_int(value: Any) -> int | None:
    """An integer property (CloudFormation accepts numbers as strings), or None if unknown.

    Only ASCII digits and spaces count: ``str.isdigit`` and ``str.strip`` also accept
    characters ``int`` refuses (``"¹"``, ``"\x1f"``).
    """
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and _INTEGER.fullmatch(text := value.strip(" \t\r\n")):
        return int(text)
    return None


#: The environment key of a stack deployed to the CLI's default account or Region.
DEFAULT_ENVIRONMENT = "<default>"


@dataclass
class Resource:
    """One CloudFormation resource: its logical id, type and properties, where it is in the
    app (its construct path and its stack's) and the (account, Region) it deploys to."""

    logical_id: str
    type: str
    path: str
    stack_path: str
    environment: tuple[str, str]
    #: Reads the properties when a rule first asks for them (when not given).
    load_props: Callable[[], dict[str, Any]] | None = field(default=None, repr=False)
    _props: dict[str, Any] | None = field(default=None, repr=False)

    @property
    def props(self) -> dict[str, Any]:
        """The resolved CloudFormation properties (PascalCase keys), as the template holds them."""
        if self._props is None:
            self._props = self.load_props() if self.load_props is not None else {}
        return self._props


def same_stack(a: Resource, b: Resource) -> bool:
    """Whether two resources are in one stack (so Ref / GetAtt between them resolve)."""
    return a.stack_path == b.stack_path


class ResourceIndex:
    """Every CloudFormation resource of an app, by stack and logical id."""

    def __init__(self, resources: Iterable[Resource]) -> None:
        self._by_id: dict[tuple[str, str], Resource] = {}
        self._by_path: dict[str, Resource] = {}
        self._by_type: dict[str, list[Resource]] = {}
        for resource in resources:
            self._by_id[(resource.stack_path, resource.logical_id)] = resource
            self._by_path[resource.path] = resource
            self._by_type.setdefault(resource.type, []).append(resource)

    def __iter__(self) -> Iterator[Resource]:
        """Every resource, stack by stack in template order."""
        return iter(self._by_id.values())

    def at(self, path: str) -> Resource | None:
        """The indexed resource at a construct path."""
        return self._by_path.get(path)

    def of_type(self, *types: str) -> Iterator[Resource]:
        """Every resource of the given CloudFormation types."""
        for type_ in types:
            yield from self._by_type.get(type_, [])

    def target(self, origin: Resource, value: Any, *types: str) -> Resource | None:
        """The resource of ``origin``'s stack that ``value`` (Ref / GetAtt) names, of ``types``."""
        logical_id = referenced_id(value)
        parts = string_parts(value) if logical_id is None else None
        if parts is not None and len(parts) == 1 and not isinstance(parts[0], str):
            logical_id = parts[0][1].split(".", 1)[0]  # "${Name}" or "${Name.Attribute}"
        if logical_id is None:
            return None
        found = self._by_id.get((origin.stack_path, logical_id))
        if found is None or (types and found.type not in types):
            return None
        return found

    def function_of(self, origin: Resource, value: Any) -> Resource | None:
        """The function a function name or ARN refers to, through an alias or version too."""
        target = self.target(origin, value, *_FUNCTION_TYPES)
        if target is None:
            # a qualified ARN or name built from one function, alias or version, as
            # aws-cdk-lib writes them ("Fn::Join" of "Fn::Select" of its ARN, ":<alias>")
            found = [
                t
                for logical_id in sorted(referenced_ids(value))
                if (t := self.target(origin, {"Ref": logical_id}, *_FUNCTION_TYPES)) is not None
            ]
            if len(found) == 1:
                target = found[0]
        if target is None or target.type == LAMBDA_FUNCTION:
            return target
        return self.function_of(target, target.props.get("FunctionName"))

    def role_statements(self, function: Resource) -> list[dict[str, Any]] | None:
        """The Allow statements of the function's role (inline and attached policies).

        None when the role is not a role of this stack (imported, or named by a literal ARN).
        """
        role = self.target(function, function.props.get("Role"), IAM_ROLE)
        if role is None:
            return None
        documents = [
            p.get("PolicyDocument")
            for p in as_list(role.props.get("Policies"))
            if isinstance(p, Mapping)
        ]
        for arn in as_list(role.props.get("ManagedPolicyArns")):
            managed = self.target(role, arn, IAM_MANAGED_POLICY)
            if managed is not None:
                documents.append(managed.props.get("PolicyDocument"))
        for policy in self.of_type(IAM_POLICY, IAM_MANAGED_POLICY):
            if same_stack(policy, role) and any(
                referenced_id(r) == role.logical_id for r in as_list(policy.props.get("Roles"))
            ):
                documents.append(policy.props.get("PolicyDocument"))
        statements: list[dict[str, Any]] = []
        for document in map(json_value, documents):  # an object or a JSON string
            if isinstance(document, Mapping):
                statements.extend(
                    dict(s)
                    for s in as_list(document.get("Statement"))
                    if isinstance(s, Mapping) and s.get("Effect") == "Allow"
                )
        return statements


def allows(
    statements: list[dict[str, Any]], action: str, resource: Resource, *, wildcard: bool = True
) -> bool:
    """Whether an Allow statement grants ``action`` on ``resource`` (named by Ref / GetAtt).

    With ``wildcard``, a statement with ``Resource: "*"`` counts: it covers the resource too.
    Literal ARNs are not matched (they cannot be tied to a resource of the app without
    guessing).
    """
    for statement in statements:
        if "Action" not in statement:
            continue
        actions = [a for a in as_list(statement["Action"]) if isinstance(a, str)]
        if not any(fnmatch.fnmatchcase(action.lower(), a.lower()) for a in actions):
            continue
        for target in as_list(statement.get("Resource")):
            if (wildcard and target == "*") or (
                not _is_conditional(target) and mentions(target, resource.logical_id)
            ):
                return True
    return False
