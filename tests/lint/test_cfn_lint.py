"""cfn-lint over every synthesized reference template, with the settings `make synth` uses."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests.conftest import REPO_ROOT


def test_templates_are_cfn_lint_clean(reference_template_dir: Path) -> None:
    templates = sorted(reference_template_dir.glob("*.template.json"))
    assert templates, f"no templates in {reference_template_dir}"
    result = subprocess.run(
        [str(Path(sys.executable).with_name("cfn-lint")), *map(str, templates)],
        cwd=REPO_ROOT,  # picks up .cfnlintrc.yaml, as `make synth` does
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_cfn_lint_reports_a_broken_template(tmp_path: Path) -> None:
    broken = tmp_path / "broken.template.json"
    broken.write_text(
        '{"Resources": {"Q": {"Type": "AWS::SQS::Queue", '
        '"Properties": {"VisibilityTimeout": "soon"}}}}'
    )
    result = subprocess.run(
        [str(Path(sys.executable).with_name("cfn-lint")), str(broken)],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode != 0 and "E3012" in result.stdout
