"""Packaging for AWS: the SAM template lints and matches the store, the handlers it names exist,
and a configured pool (Lambda included) never imports the emulator."""

from __future__ import annotations

import importlib
import json
import re
import subprocess
import sys
import tomllib
from pathlib import Path
from typing import Any

from cfnlint.decode import decode

from cognito_gate.stores import dynamodb

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE = ROOT / "deploy" / "aws" / "template.yaml"
CFN_LINT = Path(sys.executable).with_name("cfn-lint")
#: Simulates an installation without the ``embedded`` extra: ``import moto`` then fails, and
#: ``importlib.util.find_spec("moto")`` says it is not there.
NO_MOTO = 'import sys; sys.modules["moto"] = None\n'


def template() -> dict[str, Any]:
    loaded, problems = decode(str(TEMPLATE))
    assert not problems
    assert loaded is not None
    return dict(loaded)


def test_the_sam_template_passes_cfn_lint() -> None:
    result = subprocess.run(
        [str(CFN_LINT), str(TEMPLATE)], capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_table_is_the_dynamodb_store_s_layout() -> None:
    table = template()["Resources"]["LockoutTable"]["Properties"]
    wanted = dynamodb._table_definition("any")
    assert table["BillingMode"] == wanted["BillingMode"] == "PAY_PER_REQUEST"
    assert sorted(map(dict, table["AttributeDefinitions"]), key=str) == sorted(
        wanted["AttributeDefinitions"], key=str
    )
    assert [dict(k) for k in table["KeySchema"]] == wanted["KeySchema"]
    (index,) = table["GlobalSecondaryIndexes"]
    (expected,) = wanted["GlobalSecondaryIndexes"]
    assert index["IndexName"] == dynamodb.EVENTS_INDEX == expected["IndexName"]
    assert [dict(k) for k in index["KeySchema"]] == expected["KeySchema"]
    assert dict(index["Projection"]) == expected["Projection"]
    ttl = table["TimeToLiveSpecification"]
    assert (ttl["AttributeName"], ttl["Enabled"]) == (dynamodb.TTL_ATTRIBUTE, True)


def test_the_functions_name_handlers_that_exist() -> None:
    resources = template()["Resources"]
    handlers = {
        name: resource["Properties"]["Handler"]
        for name, resource in resources.items()
        if resource["Type"] == "AWS::Serverless::Function"
    }
    assert handlers == {
        "GatewayFunction": "cognito_gate.aws.handler",
        "PreAuthenticationFunction": "cognito_gate.aws.pre_authentication",
        "PostAuthenticationFunction": "cognito_gate.aws.post_authentication",
    }
    for handler in handlers.values():
        module, _, attribute = handler.rpartition(".")
        assert callable(getattr(importlib.import_module(module), attribute))


def test_the_gateway_s_iam_is_what_it_calls() -> None:
    policies = template()["Resources"]["GatewayFunction"]["Properties"]["Policies"]
    (policy,) = policies
    actions = {a for s in policy["Statement"] for a in s["Action"]}
    assert {a for a in actions if a.startswith("cognito-idp:")} == {
        "cognito-idp:AdminInitiateAuth",
        "cognito-idp:AdminRespondToAuthChallenge",
        "cognito-idp:AdminGetUser",
        "cognito-idp:AdminUserGlobalSignOut",
        "cognito-idp:DescribeUserPool",
        "cognito-idp:DescribeUserPoolClient",
        "cognito-idp:ListUserPoolClients",
    }
    assert all(not a.endswith("*") for a in actions)


def test_the_functions_may_make_every_table_call_the_store_makes() -> None:
    source = Path(dynamodb.__file__).read_text()
    calls = set(re.findall(r"_api\.(\w+)\(", source))
    calls |= set(re.findall(r'"(\w+_item|query|scan)"', source))
    schema = {"create_table", "describe_table", "describe_time_to_live", "update_time_to_live"}
    needed = {
        "dynamodb:" + "".join(part.title() for part in call.split("_"))
        for call in calls - schema - {"get_waiter"}
    }
    resources = template()["Resources"]

    def table_actions(function: str) -> set[str]:
        (policy,) = resources[function]["Properties"]["Policies"]
        return {a for s in policy["Statement"] for a in s["Action"] if a.startswith("dynamodb:")}

    assert table_actions("GatewayFunction") == needed
    # The triggers keep records and write audit events; refresh-token owners and reads of the
    # audit log are the gateway's.
    for trigger in ("PreAuthenticationFunction", "PostAuthenticationFunction"):
        assert table_actions(trigger) == needed - {
            "dynamodb:PutItem",
            "dynamodb:BatchGetItem",
            "dynamodb:Query",
            "dynamodb:Scan",
        }


def run_python(code: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, cwd=ROOT
    )


def test_a_configured_pool_never_imports_the_emulator() -> None:
    code = (
        "import json, sys, cognito_gate.aws, cognito_gate.cli, cognito_gate.runtime\n"
        "from cognito_gate.server.app import create_app\n"
        "from cognito_gate.aws.handler import gateway\n"
        "from cognito_gate.config import load_settings\n"
        "from cognito_gate.runtime import build_runtime\n"
        "build_runtime(load_settings(user_pool_id='eu-west-1_AbC', client_id='c',"
        " store='memory://'))\n"
        "print(json.dumps(sorted(m for m in sys.modules if m.split('.')[0] == 'moto')))\n"
    )
    result = run_python(code)  # moto is installed here, and stays unimported
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == []
    blocked = run_python(NO_MOTO + code)  # and where it is not installed, nothing misses it
    assert blocked.returncode == 0, blocked.stderr


def test_the_embedded_default_without_the_emulator_says_which_extra_to_install() -> None:
    code = NO_MOTO + (
        "from cognito_gate.config import load_settings\n"
        "from cognito_gate.errors import ConfigError\n"
        "from cognito_gate.runtime import build_runtime\n"
        "try:\n"
        "    build_runtime(load_settings(store='memory://'))\n"
        "except ConfigError as exc:\n"
        "    print(exc.message)\n"
    )
    result = run_python(code)
    assert result.returncode == 0, result.stderr
    (line,) = result.stdout.splitlines()
    assert "pip install 'cognito-gate[embedded]'" in line


def test_the_emulator_is_an_extra_that_make_run_and_make_test_install() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert not [d for d in project["dependencies"] if d.startswith("moto")]
    extras = project["optional-dependencies"]
    assert extras["embedded"] == ["moto[server,cognitoidp]>=5.2"]
    assert "aws" in extras
    dev = extras["dev"]
    assert any("embedded" in d and "aws" in d for d in dev if d.startswith("cognito-gate["))
    assert any(d.startswith("cfn-lint") for d in dev)
    makefile = (ROOT / "Makefile").read_text()
    assert "pip install -q -e '.[embedded]'" in makefile
    assert "pip install -q -e '.[dev]'" in makefile
