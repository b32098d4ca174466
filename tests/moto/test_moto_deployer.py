"""The deployer's policy against what Terraform really calls: every AWS call of a moto
apply and destroy, and so of a plan (from the provider's debug log), is granted. The policy's refusals
are tested without terraform in test_deployer.py."""

from __future__ import annotations

import fnmatch
import json
import re
import subprocess
from pathlib import Path

import pytest
from helpers.deployer import _CALL, _SERVICE, SERVICES, _module, allowed
from helpers.harness import Root, tf_env
from helpers.lifecycle import World

from generator import api, other_policies

pytestmark = [pytest.mark.moto, pytest.mark.terraform]


def test_deployer_policy_covers_every_call_terraform_makes(terraform, moto, tmp_path: Path) -> None:
    manifest, m = _module(tmp_path)
    World(moto, m.region).provide(m)  # the existing functions, running as their own roles, and the secrets
    out = tmp_path / "out"
    assert api.generate(manifest, out).exit == api.Exit.OK
    root = Root(terraform, tmp_path / "root", out / "hardened", region="eu-west-1", endpoint=moto.url)
    root.init()
    log = tmp_path / "tf.log"
    env = dict(tf_env(terraform), TF_LOG="DEBUG", TF_LOG_PATH=str(log))
    # No separate plan: destroy first runs a normal plan of the applied state (refreshing
    # every resource, reading every data source) before its destroy plan (hashicorp/terraform,
    # internal/terraform/context_plan.go, Context.destroyPlan), so the calls a plan makes are
    # among destroy's (checked with one log per command: plan's 10 calls were all among
    # destroy's 16).
    for args in (["apply", "-auto-approve"], ["destroy", "-auto-approve"]):
        proc = subprocess.run(
            [terraform.binary, *args, "-no-color", "-lock=false", "-input=false"],
            cwd=root.path,
            env=env,
            capture_output=True,
            text=True,
            timeout=600,
        )
        assert proc.returncode == 0, proc.stdout + proc.stderr
    calls = set()
    # One log entry per timestamp; a request's fields and body may span several lines.
    for line in re.split(r"\n(?=\d{4}-\d\d-\d\dT)", log.read_text()):
        if "HTTP Request Sent" not in line:
            continue
        method, service = _CALL.search(line), _SERVICE.search(line)
        if method and service:
            calls.add(f"{SERVICES[service.group(2) or service.group(3)]}:{method.group(1)}")
    assert {
        "iam:CreateRole",
        "iam:PutRolePolicy",
        "lambda:AddPermission",
        "secretsmanager:RotateSecret",
        "iam:DeleteRole",
    } <= calls
    policy = other_policies.deployer_policy(m)
    granted = {a for st in policy["Statement"] if st["Effect"] == "Allow" for a in st["Action"]}
    missing = sorted(c for c in calls if not any(fnmatch.fnmatchcase(c, a) for a in granted))
    assert not missing, f"the deployer policy lacks {missing}"
    # RotateSecret also needs lambda:InvokeFunction on the function (checked by AWS, not logged).
    for fn in m.functions:
        assert allowed(policy, "lambda:InvokeFunction", fn.function_arn)
    (tmp_path / "calls.json").write_text(json.dumps(sorted(calls)))
