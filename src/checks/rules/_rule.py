"""What a rule is: an id, a level, the resource types it reads, its texts and its check."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from cdk_nag import NagMessageLevel, NagRuleCompliance

from serverless_patterns.checks._resources import Resource, ResourceIndex

RuleResult = NagRuleCompliance | list[str]


@dataclass(frozen=True)
class RuleContext:
    """What a check may read besides its resource: the whole app, and the pack's settings."""

    index: ResourceIndex
    account_concurrency_limit: int
    min_unreserved_concurrency: int


@dataclass(frozen=True)
class Rule:
    """One rule of the pack.

    :param id: the rule id after the pack name (``ServerlessPatterns-<id>``).
    :param level: ERROR or WARN.
    :param resource_types: the CloudFormation types it checks.
    :param info: one line: what it flags.
    :param explanation: why it matters and how to fix it.
    :param check: the check of one resource.
    """

    id: str
    level: NagMessageLevel
    resource_types: tuple[str, ...]
    info: str
    explanation: str
    check: Callable[[Resource, RuleContext], RuleResult]
