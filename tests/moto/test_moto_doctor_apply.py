"""The fixes that are ``terraform apply`` are proven by applying the module (moto, real terraform).

An account before this module (tests/helpers/liveworld.py ``before_the_module``: no grants for the
secrets on the functions' role, no invoke permission for Secrets Manager, one rotation off,
one schedule other than the manifest's) fails doctor as it is, and passes ``doctor
--before-apply`` with each of those a warning "the apply does this". A secret then re-encrypted
under a key the manifest does not name fails ``kms-key`` even before apply, with its grants
unknown because of it. The test carries out that fix (set ``kms_key_arn``), regenerates and
applies the module, and doctor, without the flag, passes every check: what the warnings said
the apply does, it did. This covers the faults "role lacks the grants", "rotation off" and
"schedule differs" of tests/moto/test_doctor.py, whose fix is the apply.
"""

from __future__ import annotations

import io
import json
import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from helpers import liveworld as lw
from helpers.harness import Root

from generator import api
from generator.live import commands

pytestmark = [pytest.mark.moto]

ORDERS, BILLING = lw.SECRETS
USERS = lw.ALT_SECRET


def doctor(w: lw.World, path: Path, **kw: Any) -> tuple[int, list[dict[str, Any]]]:
    out = io.StringIO()
    code = commands.doctor(
        path, commands.Connection(endpoint_url=w.server.url, max_attempts=2), fmt="json", out=out, **kw
    )
    return code, json.loads(out.getvalue())["findings"]


def with_status(findings: list[dict[str, Any]], status: str) -> set[tuple[str, str]]:
    return {(s, f["check"]) for f in findings if f["status"] == status for s in f["subjects"]}


def test_what_before_apply_warns_of_the_apply_does(terraform, aws_server, tmp_path, aws_env):
    aws_server.reset()
    w = lw.build(aws_server)
    lw.before_the_module(w)
    data = lw.manifest(w, **{f"secrets.{ORDERS}.schedule": {"every_days": 15}})
    path = tmp_path / "rotation.yaml"
    path.write_text(lw.dump(data))
    todo = {("legacy", "permission"), ("legacy-alt", "permission"), (ORDERS, "grants"), (BILLING, "grants"),
            (USERS, "grants"), (BILLING, "rotation"), (ORDERS, "schedule")}  # fmt: skip
    code, findings = doctor(w, path)
    assert code == 1 and with_status(findings, "fail") == todo
    code, findings = doctor(w, path, before_apply=True)
    assert code == 0 and with_status(findings, "warn") == todo

    # Re-encrypted under a key the manifest does not name: not the apply's to fix.
    other = w.client("kms").create_key(Description="re-encrypted")["KeyMetadata"]["Arn"]
    w.client("secretsmanager").update_secret(SecretId=w.secret_arns[ORDERS], KmsKeyId=other)
    code, findings = doctor(w, path, before_apply=True)
    assert code == 1 and with_status(findings, "fail") == {(ORDERS, "kms-key")}
    assert (ORDERS, "grants") in with_status(findings, "unknown")
    kms_key = next(f for f in findings if f["check"] == "kms-key" and f["status"] == "fail")
    m = re.fullmatch(r"set secrets\.(.+)\.kms_key_arn: (\S+)", kms_key["fix"])
    assert m, kms_key
    name, key = m.groups()
    assert (name, key) == (ORDERS, other)

    # Carry out the fix: the manifest names the key; regenerate and apply.
    data["secrets"][name]["kms_key_arn"] = key
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    result = api.generate(path, tmp_path / "out")
    assert result.exit == api.Exit.OK, [d.render() for d in result.diagnostics]
    root = Root(terraform, tmp_path / "root", result.target, region=w.region, endpoint=aws_server.url)
    root.init()
    root.run("apply", "-auto-approve", "-input=false", "-no-color", "-lock=false")
    for secret in (*lw.SECRETS, USERS):
        lw.finish_rotation(w, secret)  # moto limit PENDING, if apply rotated

    code, findings = doctor(w, path)
    assert code == 0, [f for f in findings if f["status"] != "pass"]
    assert {f["status"] for f in findings} == {"pass"}
    assert with_status(findings, "pass") >= todo | {(ORDERS, "kms-key")}
    code, findings = doctor(w, path, before_apply=True)
    assert code == 0 and {f["status"] for f in findings} == {"pass"}
