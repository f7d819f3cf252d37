"""The validation report of a pack, written as cdk-nag 3.0.2 writes it (``NagPack.applyRule``
and ``NagPack.addViolation``, lib/nag-pack.js): one violation per rule id, listing every
resource it concerns, so the report reads the same whichever way the pack ran."""

from __future__ import annotations

from aws_cdk import PolicyValidationPluginReport, PolicyViolatingResource, PolicyViolation
from cdk_nag import NagMessageLevel, NagRuleCompliance

from serverless_patterns.checks.rules import Rule, RuleResult

#: cdk-nag's description of a rule that raised (without ``verbose``, the error's text is left out).
THREW = "Rule threw an error during validation."
THREW_HINT = "This is generally caused by a parameter referencing an intrinsic function."


def finding_ids(rule_id: str, outcome: RuleResult | Exception) -> list[str]:
    """The ids of the findings of one outcome: the rule's id for NON_COMPLIANT or an error,
    ``<id>[<part>]`` for each part of a list, none otherwise."""
    if isinstance(outcome, Exception) or outcome == NagRuleCompliance.NON_COMPLIANT:
        return [rule_id]
    if isinstance(outcome, list):
        return [f"{rule_id}[{part}]" for part in outcome]
    return []


class Report:
    """Collects findings; ``build()`` gives the report aws-cdk-lib prints."""

    def __init__(self, *, verbose: bool) -> None:
        self._verbose = verbose
        self._violations: dict[str, tuple[str, str, list[str]]] = {}

    def add(self, finding_id: str, rule: Rule, path: str, error: Exception | None) -> None:
        """Records the finding ``finding_id`` of ``rule`` on the construct at ``path``."""
        if finding_id not in self._violations:
            self._violations[finding_id] = (self._description(rule, error), _severity(rule), [])
        self._violations[finding_id][2].append(path)

    def build(self) -> PolicyValidationPluginReport:
        violations = [
            PolicyViolation(
                rule_name=finding_id,
                description=description,
                severity=severity,
                violating_resources=[
                    PolicyViolatingResource(construct_path=path, locations=["Properties"])
                    for path in paths
                ],
            )
            for finding_id, (description, severity, paths) in self._violations.items()
        ]
        return PolicyValidationPluginReport(success=not violations, violations=violations)

    def _description(self, rule: Rule, error: Exception | None) -> str:
        if error is not None:
            return f"{THREW} {error if self._verbose else THREW_HINT}"
        return f"{rule.info} {rule.explanation}" if self._verbose else rule.info


def _severity(rule: Rule) -> str:
    return "error" if rule.level == NagMessageLevel.ERROR else "warning"
