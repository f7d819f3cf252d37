"""cfn-lint over every synthesized reference template, with the settings `make synth` uses."""

from __future__ import annotations

import json
from pathlib import Path

from tests.lint.cfn_lint import cfn_lint


def test_templates_are_cfn_lint_clean(reference_template_dir: Path) -> None:
    templates = sorted(reference_template_dir.glob("*.template.json"))
    assert templates, f"no templates in {reference_template_dir}"
    result = cfn_lint(templates)  # with .cfnlintrc.yaml, as `make synth`
    assert result.returncode == 0, result.stdout + result.stderr


def test_cfn_lint_reports_a_broken_template(tmp_path: Path) -> None:
    broken = tmp_path / "broken.template.json"
    broken.write_text(
        '{"Resources": {"Q": {"Type": "AWS::SQS::Queue", '
        '"Properties": {"VisibilityTimeout": "soon"}}}}'
    )
    result = cfn_lint([broken])
    assert result.returncode != 0 and "E3012" in result.stdout


def test_the_only_redundant_dependency_is_aws_cdk_libs_function_on_role(
    reference_template_dir: Path, tmp_path: Path
) -> None:
    """W3005 is ignored in .cfnlintrc.yaml for one cause only (see the README's Checks section):
    aws-cdk-lib makes each ``aws_lambda.Function`` depend on its role as well as using the
    role's ``Fn::GetAtt``. Any other redundant ``DependsOn`` would be ours, and must go."""
    templates = sorted(reference_template_dir.glob("*.template.json"))
    # From tmp_path, without .cfnlintrc.yaml: W3005 is reported.
    result = cfn_lint(templates, "--format", "parseable", "--include-checks", "W3005", cwd=tmp_path)
    findings = [line for line in result.stdout.splitlines() if ":W3005:" in line]
    assert findings, f"expected aws-cdk-lib's function-on-role dependency:\n{result.stdout}"
    others = [line for line in findings if not _is_function_on_its_role(line)]
    assert not others, "\n".join(others)


def _is_function_on_its_role(finding: str) -> bool:
    """``<file>:...:W3005:'<Role>' dependency ... at 'Resources/<Fn>/Properties/Role'``."""
    path, message = finding.split(":W3005:", 1)
    template = json.loads(Path(path.split(":", 1)[0]).read_text())
    depended_on = message.split("'")[1]
    where = message.rsplit("'", 2)[-2].split("/")
    if len(where) != 4 or where[0] != "Resources" or where[2:] != ["Properties", "Role"]:
        return False
    function = template["Resources"][where[1]]
    return bool(
        function["Type"] == "AWS::Lambda::Function"
        and function["Properties"]["Role"] == {"Fn::GetAtt": [depended_on, "Arn"]}
        and template["Resources"][depended_on]["Type"] == "AWS::IAM::Role"
    )
