"""``ServerlessPatternsChecks``: the source articles' serverless anti-patterns as a cdk-nag 3 pack.

``Validations.of(app).add_plugins(ServerlessPatternsChecks(app))`` runs it at synth next to
any other pack, over the templates synth wrote; ``ServerlessPatternsChecks().validate_scope(
scope)`` runs it directly over a construct tree. Rule ids are ``ServerlessPatterns-<id>``;
acknowledge a finding on the resource it concerns with
``Validations.of(resource).acknowledge(...)``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import cast

import jsii
from aws_cdk import CfnResource, IPolicyValidationContext, PolicyValidationPluginReport
from cdk_nag import IApplyRule, NagMessageLevel, NagPack, NagRuleCompliance

from constructs import IConstruct
from serverless_patterns.checks._acknowledgments import (
    acknowledged_in_tree,
    ancestors,
    is_acknowledged,
)
from serverless_patterns.checks._assembly import StackTemplate, read_assembly
from serverless_patterns.checks._report import Report, finding_ids
from serverless_patterns.checks._resources import Resource, ResourceIndex
from serverless_patterns.checks._tree import tree_index
from serverless_patterns.checks.rules import RULES, Rule, RuleContext, RuleResult

PACK_NAME = "ServerlessPatterns"
#: Lambda's default concurrency limit per account and Region.
ACCOUNT_CONCURRENCY_LIMIT = 1000
#: Executions Lambda keeps unreserved.
MIN_UNRESERVED_CONCURRENCY = 100
#: Every rule id of the pack.
RULE_IDS = tuple(f"{PACK_NAME}-{rule.id}" for rule in RULES)


@jsii.implements(IApplyRule)
class _AppliedRule:
    """One rule's result on one resource, in the shape cdk-nag's ``applyRule`` reads."""

    def __init__(self, rule: Rule, node: CfnResource, result: Callable[[], RuleResult]) -> None:
        self._rule = rule
        self._node = node
        self._result = result

    @property
    def rule_suffix_override(self) -> str | None:
        return self._rule.id

    @property
    def info(self) -> str:
        return self._rule.info

    @property
    def explanation(self) -> str:
        return self._rule.explanation

    @property
    def level(self) -> NagMessageLevel:
        return self._rule.level

    @property
    def node(self) -> CfnResource:
        return self._node

    def rule(self, node: CfnResource) -> RuleResult:
        return self._result()


def _returns(result: RuleResult) -> Callable[[], RuleResult]:
    return lambda: result


def _raise(error: Exception) -> Callable[[], RuleResult]:
    def result() -> RuleResult:
        raise error

    return result


class ServerlessPatternsChecks(NagPack):
    """Defines a cdk-nag pack of serverless anti-patterns (``ServerlessPatterns-*`` rules).

    Rules read the synthesized CloudFormation properties and follow references between the
    resources of a stack (an event source mapping to its queue and function, a function to
    its role's policies). A value that cannot be resolved at synth is never reported.

    At synth the pack reads the templates and stack metadata synth wrote, in Python, and
    reports as cdk-nag does (the same rule ids, texts and acknowledgments); where those files
    cannot name each resource's construct (nested stacks, logical-id metadata turned off) it
    reads the construct tree instead, as ``validate_scope`` does.
    """

    def __init__(
        self,
        scope: IConstruct | None = None,
        *,
        account_concurrency_limit: int = ACCOUNT_CONCURRENCY_LIMIT,
        min_unreserved_concurrency: int = MIN_UNRESERVED_CONCURRENCY,
        verbose: bool | None = None,
        write_suppressions_to_cloud_formation: bool | None = None,
    ) -> None:
        """
        :param scope: the app the pack is added to (only needed with
            ``write_suppressions_to_cloud_formation``). Default: - none.
        :param account_concurrency_limit: the account's Lambda concurrency limit, for
            ``ReservedConcurrency``. Default: - 1,000 (Lambda's default quota).
        :param min_unreserved_concurrency: executions that must stay unreserved.
            Default: - 100 (what Lambda enforces).
        :param verbose: add each rule's explanation to its findings. Default: - False.
        :param write_suppressions_to_cloud_formation: copy acknowledgments into template
            metadata. Default: - False.
        """
        super().__init__(
            scope,
            verbose=verbose,
            write_suppressions_to_cloud_formation=write_suppressions_to_cloud_formation,
        )
        self._pack_name = PACK_NAME
        self._verbose = bool(verbose)
        self._account_concurrency_limit = account_concurrency_limit
        self._min_unreserved_concurrency = min_unreserved_concurrency
        self._context: RuleContext | None = None
        self._rules_by_type: dict[str, list[Rule]] = {}
        for rule in RULES:
            for resource_type in rule.resource_types:
                self._rules_by_type.setdefault(resource_type, []).append(rule)

    @property
    def name(self) -> str:
        """The name shown in the validation report."""
        return PACK_NAME

    def validate(self, context: IPolicyValidationContext) -> PolicyValidationPluginReport:
        """Validates the stacks synth wrote (what aws-cdk-lib calls at synth)."""
        stacks = [
            StackTemplate(s.stack_construct_path, s.template_path, s.account_id, s.region)
            for s in context.stack_templates
        ]
        view = read_assembly(stacks)
        if view is None:
            return self.validate_scope(context.app_construct)
        above_stacks = {path for stack in stacks for path in ancestors(stack.construct_path)[1:]}
        acknowledged = {
            **acknowledged_in_tree(context.app_construct, above_stacks),
            **view.acknowledged,
        }
        index = ResourceIndex(view.resources)
        rule_context = self._new_context(index)
        report = Report(verbose=self._verbose)
        for resource in index:
            for rule, outcome in self._outcomes(resource, rule_context):
                error = outcome if isinstance(outcome, Exception) else None
                for finding_id in finding_ids(f"{PACK_NAME}-{rule.id}", outcome):
                    if not is_acknowledged(finding_id, resource.path, acknowledged):
                        report.add(finding_id, rule, resource.path, error)
        return report.build()

    def validate_scope(self, scope: IConstruct) -> PolicyValidationPluginReport:
        """Validates the construct tree of ``scope`` (no synth needed); the app is indexed
        afresh for each validation."""
        self._context = None
        try:
            return super().validate_scope(scope)
        finally:
            self._context = None

    def _check_resource(self, node: CfnResource) -> None:
        """Runs the rules of ``node``'s type in Python, and hands cdk-nag only the results it
        acts on: a finding (acknowledged or not) or an error. A compliant or not-applicable
        result makes cdk-nag do nothing ("applyRule" in cdk-nag's nag-pack.js), and handing
        it over costs several round trips to the node kernel per rule and resource."""
        if self._context is None:
            self._context = self._new_context(tree_index(node.node.root))
        resource = self._context.index.at(str(node.node.path))
        if resource is None:
            return
        for rule, outcome in self._outcomes(resource, self._context):
            result = _raise(outcome) if isinstance(outcome, Exception) else _returns(outcome)
            self._apply_rule(cast(IApplyRule, _AppliedRule(rule, node, result)))

    def _outcomes(
        self, resource: Resource, context: RuleContext
    ) -> Iterator[tuple[Rule, RuleResult | Exception]]:
        """Each rule of ``resource``'s type that finds something or raises, with its outcome."""
        for rule in self._rules_by_type.get(resource.type, ()):
            try:
                result = rule.check(resource, context)
            except Exception as error:  # reported as "Rule threw an error", as cdk-nag does
                yield rule, error
                continue
            if result not in (NagRuleCompliance.COMPLIANT, NagRuleCompliance.NOT_APPLICABLE):
                yield rule, result

    def _new_context(self, index: ResourceIndex) -> RuleContext:
        return RuleContext(
            index=index,
            account_concurrency_limit=self._account_concurrency_limit,
            min_unreserved_concurrency=self._min_unreserved_concurrency,
        )
