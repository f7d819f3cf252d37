"""``ServerlessPatternsChecks``: the source articles' serverless anti-patterns as a cdk-nag 3 pack.

``Validations.of(app).add_plugins(ServerlessPatternsChecks(app))`` runs it at synth next to
any other pack; ``ServerlessPatternsChecks().validate_scope(scope)`` runs it directly.
Rule ids are ``ServerlessPatterns-<id>``; acknowledge a finding on the resource it concerns
with ``Validations.of(resource).acknowledge(...)``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import cast

import jsii
from aws_cdk import CfnResource, PolicyValidationPluginReport
from cdk_nag import IApplyRule, NagMessageLevel, NagPack, NagRuleCompliance

from constructs import IConstruct
from serverless_patterns.checks._resources import ResourceIndex
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

    def validate_scope(self, scope: IConstruct) -> PolicyValidationPluginReport:
        """Validates ``scope``; the app is indexed afresh for each validation."""
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
        context = self._rule_context(node)
        resource = context.index.get(node)
        if resource is None:
            return
        for rule in self._rules_by_type.get(resource.type, ()):
            try:
                result = rule.check(resource, context)
            except Exception as error:  # reported by cdk-nag as "Rule threw an error"
                self._apply_rule(cast(IApplyRule, _AppliedRule(rule, node, _raise(error))))
                continue
            if result in (NagRuleCompliance.COMPLIANT, NagRuleCompliance.NOT_APPLICABLE):
                continue
            self._apply_rule(cast(IApplyRule, _AppliedRule(rule, node, _returns(result))))

    def _rule_context(self, node: CfnResource) -> RuleContext:
        if self._context is None:
            self._context = RuleContext(
                index=ResourceIndex(node.node.root),
                account_concurrency_limit=self._account_concurrency_limit,
                min_unreserved_concurrency=self._min_unreserved_concurrency,
            )
        return self._context
