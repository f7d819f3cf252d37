"""The reference app's APIs deploy into a fresh account, and their usage plans have keys.

AWS pages relied on:
- "Set up CloudWatch logging for REST APIs in API Gateway" ("Permissions for CloudWatch
  logging"): a stage with access logs needs the account's CloudWatch Logs role for API Gateway,
  which a fresh account or Region does not have.
- CloudFormation "AWS::ApiGateway::Account": only one per account and Region.
- "Usage plans and API keys for REST APIs in API Gateway" and "Choose an API key source in API
  Gateway": a method that requires a key answers 403 unless the request carries a key of a
  usage plan of the stage, so each tier needs a key in its plan.
"""

from __future__ import annotations

from typing import Any

from aws_cdk import App, Stack

from serverless_patterns.constructs import DEFAULT_USAGE_TIERS
from serverless_patterns.stacks import STACK_PREFIX

CANARY = f"{STACK_PREFIX}-CanaryApi"


def resources(template: dict[str, Any], resource_type: str) -> dict[str, dict[str, Any]]:
    return {k: r for k, r in template["Resources"].items() if r["Type"] == resource_type}


def test_the_app_sets_one_account_level_cloud_watch_role_and_retains_it(
    reference_templates: dict[str, dict[str, Any]],
) -> None:
    accounts = {
        (stack_name, key): account
        for stack_name, template in reference_templates.items()
        for key, account in resources(template, "AWS::ApiGateway::Account").items()
    }
    assert [stack_name for stack_name, _ in accounts] == [CANARY]
    [account] = accounts.values()
    [role_id, _] = account["Properties"]["CloudWatchRoleArn"]["Fn::GetAtt"]
    role = reference_templates[CANARY]["Resources"][role_id]
    assert role["DeletionPolicy"] == "Retain"
    assert role["Properties"]["AssumeRolePolicyDocument"]["Statement"][0]["Principal"] == {
        "Service": "apigateway.amazonaws.com"
    }


def test_every_stage_with_access_logs_comes_after_the_account_setting(
    reference_app: tuple[App, list[Stack]], reference_templates: dict[str, dict[str, Any]]
) -> None:
    _, stacks = reference_app
    by_name = {stack.stack_name: stack for stack in stacks}
    [account_id] = resources(reference_templates[CANARY], "AWS::ApiGateway::Account")
    checked: set[str] = set()
    for stack_name, template in reference_templates.items():
        for stage in resources(template, "AWS::ApiGateway::Stage").values():
            if "AccessLogSetting" not in stage["Properties"]:
                continue
            checked.add(stack_name)
            if stack_name == CANARY:
                assert account_id in stage.get("DependsOn", []), stack_name
            else:
                assert by_name[CANARY] in by_name[stack_name].dependencies, stack_name
    # every API of the reference app writes access logs (CanaryApi, Webhooks, Workflow's
    # approval API, ...): the loop above must have seen them
    others = ("Webhooks", "Workflow", "DirectApi")
    assert {CANARY, *(f"{STACK_PREFIX}-{name}" for name in others)} <= checked
    assert by_name[f"{STACK_PREFIX}-Webhooks"] not in by_name[CANARY].dependencies


def test_each_usage_plan_tier_has_a_generated_key_in_its_plan(
    reference_templates: dict[str, dict[str, Any]],
) -> None:
    template = reference_templates[CANARY]
    plans = {
        plan["Properties"]["Description"].removesuffix(" tier"): key
        for key, plan in resources(template, "AWS::ApiGateway::UsagePlan").items()
    }
    assert sorted(plans) == sorted(tier.name for tier in DEFAULT_USAGE_TIERS)
    keys = resources(template, "AWS::ApiGateway::ApiKey")
    attached = {
        link["Properties"]["KeyId"]["Ref"]: link["Properties"]["UsagePlanId"]["Ref"]
        for link in resources(template, "AWS::ApiGateway::UsagePlanKey").values()
    }
    assert sorted(attached) == sorted(keys)
    for key_id, key in keys.items():
        assert "Value" not in key["Properties"], "API Gateway must generate the value"
        tier = key["Properties"]["Description"].split(" tier key")[0]
        assert attached[key_id] == plans[tier], key_id
    assert sorted(attached.values()) == sorted(plans.values())  # one key per plan
    outputs = str(template.get("Outputs", {}))
    assert not any(key_id in outputs for key_id in keys), "a key value is never a stack output"
    for method in resources(template, "AWS::ApiGateway::Method").values():
        assert method["Properties"]["ApiKeyRequired"] is True
