"""Counts cdk-nag compliance findings on the reference app, per pack and per rule.

Usage: ``python tools/compliance_findings.py [--hardened] [--paths]``. Unacknowledged
findings are counted; acknowledged ones are counted separately (a pack that reports them is run
with ``acknowledged`` kept in its report).
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

from aws_cdk import App  # noqa: E402
from cdk_nag import HIPAASecurityChecks, NIST80053R5Checks, PCIDSS321Checks  # noqa: E402

from serverless_patterns.stacks import build_reference_app  # noqa: E402
from tests.conftest import new_app  # noqa: E402

PACKS = [NIST80053R5Checks, HIPAASecurityChecks, PCIDSS321Checks]


def _build(hardened: bool) -> App:
    app = new_app()
    if "hardened" in inspect.signature(build_reference_app).parameters:
        build_reference_app(app, hardened=hardened)  # type: ignore[call-arg]
    else:
        build_reference_app(app)
    return app


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--hardened", action="store_true")
    parser.add_argument("--paths", action="store_true", help="print each finding's path")
    args = parser.parse_args()
    for pack_type in PACKS:
        app = _build(args.hardened)
        report = pack_type(app).validate_scope(app)
        rules: Counter[str] = Counter()
        paths: list[str] = []
        for violation in report.violations:
            for resource in violation.violating_resources:
                rules[violation.rule_name] += 1
                paths.append(f"{violation.rule_name} at {resource.construct_path}")
        print(f"{pack_type.__name__}: {sum(rules.values())} findings, {len(rules)} rules")
        for rule, count in sorted(rules.items()):
            print(f"  {count:3d} {rule}")
        if args.paths:
            for line in sorted(paths):
                print(f"    {line}")


if __name__ == "__main__":
    main()
