"""Importing the library makes no jsii call, and importing one construct loads only its modules.

A jsii call while a module is imported (a ``Duration`` constant, a static property in a dict)
makes the node kernel load aws-cdk-lib's JavaScript, which costs about a second that only a
synth needs; an eager package ``__init__`` loads every construct's aws_cdk submodules. Both
were measured in issue 15 (``benchmarks/library_cost_benchmark.py`` times the result).
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

#: Imports the library's modules in a fresh interpreter and prints the jsii kernel requests
#: (node process sends) made while they were imported, after aws_cdk itself was loaded; a
#: LoadRequest is a jsii library's assembly loading, what importing cdk_nag is.
_COUNT_CALLS = """\
import importlib, json, pkgutil, sys
import aws_cdk
from jsii._kernel.providers import process

requests = []
send = process._NodeProcess.send

def counting_send(self, request, response_type):
    if type(request).__name__ != "LoadRequest":
        requests.append(str(request))
    return send(self, request, response_type)

process._NodeProcess.send = counting_send
import serverless_patterns.constructs as constructs
import serverless_patterns.checks, serverless_patterns.stacks
prefix = "serverless_patterns.constructs."
names = [m.name for m in pkgutil.walk_packages(constructs.__path__, prefix)]
for name in names:
    importlib.import_module(name)
print(json.dumps({"modules": len(names), "requests": requests}))
"""

#: What importing one public name loads.
_LOADED_BY = """\
import json, sys
module, name = sys.argv[1:3]
getattr(__import__(module, fromlist=[name]), name)
prefixes = ("aws_cdk.", "boto3", "serverless_patterns")
print(json.dumps(sorted(m for m in sys.modules if m.startswith(prefixes))))
"""


def _run(code: str, *args: str) -> str:
    result = subprocess.run(
        [sys.executable, "-c", code, *args], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return result.stdout.strip().splitlines()[-1]


def test_importing_every_construct_stack_and_check_module_makes_no_jsii_call() -> None:
    found = json.loads(_run(_COUNT_CALLS))
    assert found["modules"] > 10
    assert found["requests"] == []


@pytest.mark.parametrize(
    ("module", "name", "not_loaded"),
    [
        (
            "serverless_patterns.constructs",
            "QueueWorker",
            [
                "aws_cdk.aws_apigateway",
                "aws_cdk.aws_codedeploy",
                "aws_cdk.aws_dynamodb",
                "aws_cdk.aws_s3",
                "aws_cdk.aws_stepfunctions",
                "boto3",
            ],
        ),
        (
            "serverless_patterns.constructs",
            "EventBusFanOut",
            [
                "aws_cdk.aws_apigateway",
                "aws_cdk.aws_dynamodb",
                "aws_cdk.aws_lambda_destinations",
                "aws_cdk.aws_stepfunctions",
                "boto3",
            ],
        ),
        ("serverless_patterns.runtime.idempotency", "idempotency_key", ["boto3"]),
    ],
)
def test_one_name_loads_only_what_it_needs(module: str, name: str, not_loaded: list[str]) -> None:
    loaded = set(json.loads(_run(_LOADED_BY, module, name)))
    assert not loaded & set(not_loaded)


def test_every_public_name_resolves_and_dir_lists_it() -> None:
    from serverless_patterns import constructs
    from serverless_patterns.runtime import idempotency

    missing = "Missing"
    for package in (constructs, idempotency):
        assert set(package.__all__) <= set(dir(package))
        for name in package.__all__:
            assert getattr(package, name) is not None, name
        with pytest.raises(AttributeError, match="no attribute 'Missing'"):
            getattr(package, missing)
