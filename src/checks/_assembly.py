"""The rules' view read from the cloud assembly synth wrote: what the pack reads at synth.

aws-cdk-lib hands a validation plugin the template file of every stack it synthesized
(``IPolicyValidationContext.stackTemplates``). Next to each template, the stack's metadata
(``manifest.json`` names its file) holds, by construct path, each resource's logical id and
the rules acknowledged there. Reading those files gives the properties exactly as they will
deploy (raw overrides included) without one round trip to the node kernel per resource.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from serverless_patterns.checks._acknowledgments import ACKNOWLEDGED_RULES, rule_ids
from serverless_patterns.checks._resources import DEFAULT_ENVIRONMENT, Resource

#: The metadata entry that names a CloudFormation element's logical id.
LOGICAL_ID = "aws:cdk:logicalId"
#: A resource whose template this view does not read (a nested stack's is another file).
NESTED_STACK = "AWS::CloudFormation::Stack"


@dataclass(frozen=True)
class StackTemplate:
    """One synthesized stack, as validation names it."""

    construct_path: str
    template_path: str
    account: str | None = None
    region: str | None = None


@dataclass(frozen=True)
class AssemblyView:
    """The resources of the stacks read, and the rule ids acknowledged by construct path."""

    resources: list[Resource]
    acknowledged: dict[str, frozenset[str]]


def read_assembly(stacks: Iterable[StackTemplate]) -> AssemblyView | None:
    """The resources and acknowledgments of ``stacks``, or None when the files cannot tell
    every resource's construct: a stack without logical-id metadata (the
    ``@aws-cdk/core:disableLogicalIdMetadata`` context), a nested stack, a missing file."""
    resources: list[Resource] = []
    acknowledged: dict[str, frozenset[str]] = {}
    manifests: dict[Path, Any] = {}  # the stacks of one assembly share its manifest
    for stack in stacks:
        try:
            template = _read_json(Path(stack.template_path))
            metadata = _stack_metadata(Path(stack.template_path), manifests)
        except (OSError, ValueError, KeyError, TypeError):
            return None
        paths: dict[str, str] = {}
        for key, entries in metadata.items():
            path = key.removeprefix("/")
            for entry in entries if isinstance(entries, list) else ():
                if not isinstance(entry, Mapping):
                    continue
                if entry.get("type") == LOGICAL_ID and isinstance(entry.get("data"), str):
                    paths[entry["data"]] = path
                elif entry.get("type") == ACKNOWLEDGED_RULES:
                    acknowledged[path] = acknowledged.get(path, frozenset()) | rule_ids(
                        entry.get("data")
                    )
        environment = (stack.account or DEFAULT_ENVIRONMENT, stack.region or DEFAULT_ENVIRONMENT)
        for logical_id, body in _resources(template).items():
            type_ = body.get("Type") if isinstance(body, Mapping) else None
            if logical_id not in paths or not isinstance(type_, str) or type_ == NESTED_STACK:
                return None
            properties = body.get("Properties")
            resources.append(
                Resource(
                    logical_id=logical_id,
                    type=type_,
                    path=paths[logical_id],
                    stack_path=stack.construct_path,
                    environment=environment,
                    _props=dict(properties) if isinstance(properties, Mapping) else {},
                )
            )
    return AssemblyView(resources, acknowledged)


def _read_json(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))


def _resources(template: Any) -> Mapping[str, Any]:
    resources = template.get("Resources") if isinstance(template, Mapping) else None
    if not isinstance(resources, Mapping):
        raise ValueError("a template without Resources")
    return resources


def _stack_metadata(template_path: Path, manifests: dict[Path, Any]) -> Mapping[str, Any]:
    """The metadata of the stack whose template is ``template_path``: the manifest's own entries
    and those of its ``additionalMetadataFile``. ``manifests`` keeps each manifest read."""
    manifest_path = template_path.parent / "manifest.json"
    if manifest_path not in manifests:
        manifests[manifest_path] = _read_json(manifest_path)
    manifest = manifests[manifest_path]
    for artifact in manifest["artifacts"].values():
        properties = artifact.get("properties") or {}
        if properties.get("templateFile") != template_path.name:
            continue
        metadata = dict(artifact.get("metadata") or {})
        extra = artifact.get("additionalMetadataFile")
        if extra:
            for key, entries in _read_json(template_path.parent / extra).items():
                metadata[key] = [*metadata.get(key, []), *entries]
        return metadata
    raise KeyError(template_path.name)
