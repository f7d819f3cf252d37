"""Counts cdk-nag compliance findings on the reference app, per pack and per rule.

Usage: ``python tools/compliance_findings.py [--hardened] [--paths] [--stacks A,B]``.

For each pack (NIST 800-53 R5, HIPAA Security, PCI DSS 3.2.1) it prints the unacknowledged
findings per rule, then the acknowledgments of that pack's rules per rule (each one written on
the resource it concerns). ``--stacks`` keeps only the stacks named (without the
``ServerlessPatterns-`` prefix), so counts stay comparable when stacks are added.
"""

from __future__ import annotations

import argparse
import inspect
import os
import sys
from collections import Counter
from pathlib import Path

os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from aws_cdk import Stack, Validations
from cdk_nag import HIPAASecurityChecks, NIST80053R5Checks, PCIDSS321Checks

from serverless_patterns.stacks import STACK_PREFIX, build_reference_app
from tests.conftest import new_app

PACKS = [NIST80053R5Checks, HIPAASecurityChecks, PCIDSS321Checks]


def _stacks(hardened: bool, names: list[str] | None) -> list[Stack]:
    app = new_app()
    if "hardened" in inspect.signature(build_reference_app).parameters:
        stacks = build_reference_app(app, hardened=hardened)
    else:
        stacks = build_reference_app(app)
    if names:
        stacks = [s for s in stacks if s.node.id.removeprefix(f"{STACK_PREFIX}-") in names]
    return stacks


def _acknowledged(stacks: list[Stack], prefix: str) -> Counter[str]:
    counts: Counter[str] = Counter()
    for stack in stacks:
        for construct in stack.node.find_all():
            for entry in construct.node.metadata:
                if entry.type != Validations.ACKNOWLEDGED_RULES_METADATA_KEY:
                    continue
                for source_and_id in entry.data:
                    rule = source_and_id.split("::", 1)[-1]
                    if rule.startswith(f"{prefix}-"):
                        counts[rule] += 1
    return counts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--hardened", action="store_true")
    parser.add_argument("--paths", action="store_true", help="print each finding's path")
    parser.add_argument("--stacks", default="", help="comma-separated stack names to keep")
    args = parser.parse_args()
    names = [n for n in args.stacks.split(",") if n] or None
    for pack_type in PACKS:
        stacks = _stacks(args.hardened, names)
        rules: Counter[str] = Counter()
        paths: list[str] = []
        pack = pack_type()
        for stack in stacks:
            for violation in pack.validate_scope(stack).violations:
                for resource in violation.violating_resources:
                    rules[violation.rule_name] += 1
                    paths.append(f"{violation.rule_name} at {resource.construct_path}")
        acknowledged = _acknowledged(stacks, pack.read_pack_name)
        print(
            f"{pack_type.__name__}: {sum(rules.values())} unacknowledged ({len(rules)} rules), "
            f"{sum(acknowledged.values())} acknowledged ({len(acknowledged)} rules)"
        )
        for rule, count in sorted(rules.items()):
            print(f"  {count:3d} unacknowledged {rule}")
        for rule, count in sorted(acknowledged.items()):
            print(f"  {count:3d} acknowledged   {rule}")
        if args.paths:
            for line in sorted(paths):
                print(f"    {line}")


if __name__ == "__main__":
    main()
