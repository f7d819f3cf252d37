"""The pack read both ways a user runs it, required to agree.

``add_checks`` runs ``ServerlessPatternsChecks.validate`` at synth, over the templates and
stack metadata synth wrote; ``validate_scope`` reads the construct tree. ``synth_report``
synthesizes the app (again, ``force=True``) with a recording plugin, so aws-cdk-lib calls
the pack as it does at a real synth, with its real validation context.
"""

from __future__ import annotations

import json
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jsii
from aws_cdk import (
    IPolicyValidationContext,
    IPolicyValidationPlugin,
    PolicyValidationPluginReport,
    PolicyValidationStack,
    Stage,
    Validations,
)

from constructs import IConstruct
from serverless_patterns.checks import ServerlessPatternsChecks
from serverless_patterns.checks._assembly import LOGICAL_ID


@jsii.implements(IPolicyValidationPlugin)
class _Recorder:
    """Runs the pack it is given at synth and keeps its report; reports nothing itself, so
    synth goes on whatever the pack finds."""

    def __init__(self) -> None:
        self.pack: ServerlessPatternsChecks | None = None
        self.report: PolicyValidationPluginReport | None = None

    @property
    def name(self) -> str:
        return "ServerlessPatternsRecorder"

    @property
    def version(self) -> str | None:
        return None

    @property
    def rule_ids(self) -> list[str] | None:
        return None

    def validate(self, context: IPolicyValidationContext) -> PolicyValidationPluginReport:
        assert self.pack is not None
        self.report = self.pack.validate(context)
        return PolicyValidationPluginReport(success=True, violations=[])


_RECORDERS: dict[int, tuple[Stage, _Recorder]] = {}


#: How aws-cdk-lib refuses to synthesize an L1 whose properties do not fit its types (a
#: template loaded with CfnInclude, aws/aws-cdk#29642): no plugin runs, there is no synth view.
_SYNTH_REFUSED = "Resolution error: Supplied properties not correct"


def synth_report(
    pack: ServerlessPatternsChecks, scope: IConstruct
) -> PolicyValidationPluginReport | None:
    """The report ``pack`` gives at a synth of ``scope``'s app; None when aws-cdk-lib cannot
    synthesize the app at all. A Stage inside the app is synthesized once (aws-cdk-lib keeps
    its assembly): change a staged app before its first synth only."""
    app = scope.node.root
    assert isinstance(app, Stage), f"{scope.node.path}: not in an app"
    if id(app) not in _RECORDERS:
        recorder = _Recorder()
        Validations.of(app).add_plugins(recorder)
        _RECORDERS[id(app)] = (app, recorder)  # keeps the app, so its id is not reused
    recorder = _RECORDERS[id(app)][1]
    recorder.pack, recorder.report = pack, None
    try:
        app.synth(force=True)
    except RuntimeError as error:
        # every plugin runs before any failure is raised: another plugin's finding (such as
        # the CloudFormation schema's, on a template a test breaks on purpose) comes after
        if recorder.report is None and _SYNTH_REFUSED in str(error):
            return None
        if recorder.report is None:
            raise
    return recorder.report


@dataclass(frozen=True, order=True)
class Violation:
    rule: str
    path: str
    severity: str
    description: str


def violations(report: PolicyValidationPluginReport, under: str = "") -> list[Violation]:
    """The report's violations, one per resource, at or below the construct path ``under``."""
    found = [
        Violation(v.rule_name, str(r.construct_path), str(v.severity), v.description)
        for v in report.violations
        for r in v.violating_resources
    ]
    return [f for f in found if not under or f"{f.path}/".startswith(f"{under}/")]


def both_views(pack: ServerlessPatternsChecks, scope: IConstruct) -> list[Violation]:
    """The violations of ``pack`` over ``scope``, read from the tree and at synth: the same
    (in the tree's order). Where aws-cdk-lib cannot synthesize the app, only the tree's."""
    tree = violations(pack.validate_scope(scope))
    report = synth_report(pack, scope)
    if report is not None:
        at_synth = violations(report, str(scope.node.path))
        assert sorted(at_synth) == sorted(tree), f"at synth: {at_synth}\nvalidate_scope: {tree}"
    return tree


@jsii.implements(IPolicyValidationContext)
class _FilesContext:
    """A validation context naming template files written by a test, as synth names them."""

    def __init__(self, app: IConstruct, stacks: list[PolicyValidationStack]) -> None:
        self._app, self._stacks = app, stacks

    @property
    def app_construct(self) -> IConstruct:
        return self._app

    @property
    def stack_templates(self) -> list[PolicyValidationStack]:
        return self._stacks

    @property
    def template_paths(self) -> list[str]:
        return [stack.template_path for stack in self._stacks]

    @property
    def account_id(self) -> str | None:
        return None

    @property
    def region(self) -> str | None:
        return None


def write_assembly(folder: Path, stack_path: str, template: Mapping[str, Any]) -> str:
    """Writes ``template`` as synth writes a stack: the template, and a manifest whose metadata
    file names each resource's logical id at ``<stack_path>/<logical id>``. Returns the
    template's path."""
    name = stack_path.replace("/", "-")
    (folder / f"{name}.template.json").write_text(json.dumps(template))
    metadata = {
        f"/{stack_path}/{logical_id}": [{"type": LOGICAL_ID, "data": logical_id}]
        for logical_id in template.get("Resources") or {}
    }
    (folder / f"{name}.metadata.json").write_text(json.dumps(metadata))
    artifact = {
        "type": "aws:cloudformation:stack",
        "properties": {"templateFile": f"{name}.template.json"},
        "additionalMetadataFile": f"{name}.metadata.json",
    }
    (folder / "manifest.json").write_text(json.dumps({"artifacts": {name: artifact}}))
    return str(folder / f"{name}.template.json")


def template_file_violations(
    pack: ServerlessPatternsChecks, app: IConstruct, template: Mapping[str, Any]
) -> list[Violation]:
    """The violations ``pack.validate`` reports over ``template`` written as one stack
    (``Included``) of a cloud assembly: the synth view, without CfnInclude or a synth."""
    with tempfile.TemporaryDirectory() as folder:
        path = write_assembly(Path(folder), "Included", template)
        stack = PolicyValidationStack(stack_construct_path="Included", template_path=path)
        return violations(pack.validate(_FilesContext(app, [stack])))
