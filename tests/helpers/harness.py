"""Real Terraform and a real (moto) AWS API for tests and benchmarks.

* :func:`terraform_or_skip` finds the CLI and the offline provider mirror, or skips with
  the reason. With ``ROTATION_TF_REQUIRE_TERRAFORM=1`` (set by ``.ci/run``) a missing
  tool fails the test instead, so CI cannot pass by skipping.
* :class:`MotoServer` runs ``moto.server`` on a free 127.0.0.1 port in a child process
  and always stops it. Every wait loop is bounded.
* :class:`Root` wraps a generated module in a root configuration whose provider talks to
  moto (or to nothing, for validate) and runs terraform commands in it. One root may hold
  several modules (:class:`Module`), each with a provider of its own (region, endpoint):
  every terraform command loads the 675 MB provider and its schema, which costs more than
  planning a few dozen resources, so cases that take the same steps share one root.

What terraform costs (measured, CONTRIBUTING.md#what-the-suite-spends): a command starts the
provider once for its schema and once per graph walk: validate 2, plan 3, ``show -json`` 1,
apply 4 (validate, plan and apply walks), ``apply tfplan`` 2, destroy 5, output 0. Apply a
plan the test has already made (``plan_changes(out=...)`` or ``plan_json()``, then
:meth:`Root.apply_plan`) rather than ``apply -auto-approve``, which plans again; and do not
``validate`` before a plan or apply in the same root, which validate first anyway.
"""

from __future__ import annotations

import io
import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import NoReturn

import pytest

ACCOUNT = "111122223333"
REQUIRE_ENV = "ROTATION_TF_REQUIRE_TERRAFORM"
MIRROR_ENV = "ROTATION_TF_PROVIDER_MIRROR"


def required() -> bool:
    """CI (``CI=true``, or ``.ci/run``'s REQUIRE_ENV): a missing part fails, never skips."""
    return os.environ.get("CI", "").lower() == "true" or os.environ.get(REQUIRE_ENV) == "1"


def skip_or_fail(reason: str) -> NoReturn:
    if required():
        pytest.fail(f"{reason}; mandatory under CI=true / {REQUIRE_ENV}=1")
    pytest.skip(reason)


_MIRROR_CANDIDATES = (
    "/opt/tf-plugins",
    "~/.terraform.d/plugins",
    "~/.local/share/terraform/plugins",
    "/usr/local/share/terraform/plugins",
    "/usr/share/terraform/plugins",
)


def find_mirror() -> Path | None:
    """A filesystem mirror holding registry.terraform.io/hashicorp/aws."""
    candidates = [os.environ[MIRROR_ENV]] if os.environ.get(MIRROR_ENV) else list(_MIRROR_CANDIDATES)
    for c in candidates:
        p = Path(c).expanduser()
        if (p / "registry.terraform.io" / "hashicorp" / "aws").is_dir():
            return p
    return None


@dataclass(frozen=True)
class Terraform:
    binary: str
    mirror: Path
    cli_config: Path


_TF: Terraform | None = None


def terraform_or_skip(tmp_root: Path | None = None) -> Terraform:
    global _TF
    if _TF is not None:
        return _TF
    binary = shutil.which("terraform")
    mirror = find_mirror()
    problem = None
    if binary is None:
        problem = "terraform CLI not found on PATH"
    elif mirror is None:
        problem = f"no hashicorp/aws provider mirror found (set {MIRROR_ENV})"
    if problem:
        if os.environ.get(REQUIRE_ENV) == "1":
            pytest.fail(f"{problem}, and {REQUIRE_ENV}=1 makes terraform tests mandatory")
        pytest.skip(problem)
    assert binary is not None and mirror is not None
    base = Path(os.environ.get("ROTATION_TF_WORK", Path(__file__).resolve().parents[2] / ".tf-work"))
    base.mkdir(parents=True, exist_ok=True)
    cfg = base / "terraform.tfrc"
    cfg.write_text(cli_config_text(mirror))
    _TF = Terraform(binary, mirror, cfg)
    return _TF


CHECKOV_SPEC = "checkov>=3.2,<4"  # .ci/run reads this line (sed) to build the venv before the tests


def work_dir() -> Path:
    base = Path(os.environ.get("ROTATION_TF_WORK", Path(__file__).resolve().parents[2] / ".tf-work"))
    base.mkdir(parents=True, exist_ok=True)
    return base


def checkov_or_skip() -> Path:
    """checkov in its own venv under .tf-work (built once; a file lock serialises workers)."""
    import fcntl

    venv = work_dir() / "checkov-venv"
    exe = venv / "bin" / "checkov"
    problem = None
    with open(work_dir() / "checkov-venv.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not exe.exists():
            try:
                subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, capture_output=True, timeout=300)
                subprocess.run(
                    [str(venv / "bin" / "pip"), "install", "--quiet", CHECKOV_SPEC],
                    check=True,
                    capture_output=True,
                    text=True,
                    timeout=1200,
                )
            except (subprocess.SubprocessError, OSError) as exc:
                detail = getattr(exc, "stderr", "") or ""
                problem = f"cannot build checkov's virtualenv ({CHECKOV_SPEC}): {exc} {detail[-500:]}"
                shutil.rmtree(venv, ignore_errors=True)
    if problem:
        if os.environ.get(REQUIRE_ENV) == "1":
            pytest.fail(f"{problem}, and {REQUIRE_ENV}=1 makes the linters mandatory")
        pytest.skip(problem)
    return exe


def cli_config_text(mirror: Path | None) -> str:
    """A Terraform CLI configuration that installs hashicorp/* from ``mirror`` only."""
    if mirror is None:
        return ""
    return (
        "provider_installation {\n"
        "  filesystem_mirror {\n"
        f"    path    = {json.dumps(str(mirror))}\n"
        '    include = ["registry.terraform.io/hashicorp/*"]\n'
        "  }\n"
        "  direct {\n"
        '    exclude = ["registry.terraform.io/*/*"]\n'
        "  }\n"
        "}\n"
    )


def terraform_env(cli_config: Path) -> dict[str, str]:
    """The environment for offline terraform runs with fake credentials."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TF_", "AWS_"))}
    env.update(
        TF_CLI_CONFIG_FILE=str(cli_config),
        TF_IN_AUTOMATION="1",
        TF_INPUT="0",
        CHECKPOINT_DISABLE="1",
        AWS_ACCESS_KEY_ID="testing",
        AWS_SECRET_ACCESS_KEY="testing",
        AWS_EC2_METADATA_DISABLED="true",
        NO_PROXY="127.0.0.1,localhost",
    )
    return env


def tf_env(tf: Terraform) -> dict[str, str]:
    return terraform_env(tf.cli_config)


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class MotoServer:
    """``python -m moto.server`` on loopback, with moto's account set to the manifests'."""

    def __init__(self, account: str | None = ACCOUNT):
        """``account=None`` leaves MOTO_ACCOUNT_ID unset: requests signed with the plain test
        keys then act in moto's default account 123456789012, and credentials returned by
        sts:AssumeRole act in the assumed role's own account (moto's multi-account mode;
        tests/moto/test_moto_accounts.py)."""
        self.account = account
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.proc: subprocess.Popen | None = None

    def start(self) -> MotoServer:
        env = dict(os.environ, AWS_ACCESS_KEY_ID="testing", AWS_SECRET_ACCESS_KEY="testing")
        env.pop("MOTO_ACCOUNT_ID", None)
        if self.account is not None:
            env["MOTO_ACCOUNT_ID"] = self.account
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(self.port)],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 30
        for _ in range(300):  # bounded: at most 300 tries and 30 seconds
            if self.proc.poll() is not None:
                raise RuntimeError(f"moto server exited with {self.proc.returncode}")
            try:
                with urllib.request.urlopen(f"{self.url}/moto-api/", timeout=1):
                    break
            except OSError:
                if time.monotonic() > deadline:
                    break
                time.sleep(0.1)
        else:  # pragma: no cover
            self.stop()
            raise RuntimeError("moto server did not start within 30 s")
        self.configure()
        return self

    def _post(self, path: str, body: dict | None = None) -> None:
        data = json.dumps(body or {}).encode()
        req = urllib.request.Request(
            f"{self.url}{path}", data=data, method="POST", headers={"Content-Type": "application/json"}
        )
        with urllib.request.urlopen(req, timeout=10):
            pass

    def _post_raw(self, path: str, data: bytes) -> None:
        req = urllib.request.Request(
            f"{self.url}{path}", data=data, method="POST", headers={"Content-Type": "text/plain"}
        )
        with urllib.request.urlopen(req, timeout=10):
            pass

    def configure(self) -> None:
        # No Docker engine here: Lambda functions are stored, never run.
        self._post("/moto-api/config", {"lambda": {"use_docker": False}})

    def reset(self) -> None:
        self._post("/moto-api/reset")
        self.configure()

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:  # pragma: no cover
                self.proc.kill()
                self.proc.wait(timeout=10)

    def client(self, service: str, region: str = "us-east-1"):
        import boto3

        return boto3.client(
            service,
            region_name=region,
            endpoint_url=self.url,
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
        )


class Account:
    """Clients acting in ``account`` on a multi-account server (``MotoServer(account=None)``),
    through a role assumed there (moto workaround MULTI_ACCOUNT: moto does not require the
    role to exist, and the credentials it returns act in the role's account)."""

    def __init__(self, server: MotoServer, account: str, role: str):
        self.url = server.url
        self.account = account
        creds = server.client("sts").assume_role(
            RoleArn=f"arn:aws:iam::{account}:role/{role}", RoleSessionName="setup"
        )["Credentials"]
        self.keys = {
            "aws_access_key_id": creds["AccessKeyId"],
            "aws_secret_access_key": creds["SecretAccessKey"],
            "aws_session_token": creds["SessionToken"],
        }

    def client(self, service: str, region: str = "us-east-1"):
        import boto3

        return boto3.client(service, region_name=region, endpoint_url=self.url, **self.keys)


PROFILES = "aws-config"  # in each root: the shared config file naming each provider's endpoint


def provider_block(region: str, endpoint: str | None, alias: str | None = None, profiles: Path | None = None) -> str:
    """An aws provider with test credentials. With ``endpoint`` (a moto server), every
    service is sent there through the profile ``alias or "moto"`` of the shared config file
    ``profiles`` (its ``endpoint_url``, read by the AWS SDK: :func:`profile_text`).

    Not the provider's ``endpoints`` block: with that block every terraform command costs
    about three times the CPU (measured with hashicorp/aws 5.100.0: validate 6.6 -> 2.7 s,
    plan 10.1 -> 3.5 s, apply 14.3 -> 4.0 s, destroy 16.4 -> 5.0 s of CPU on the example
    rotation.yaml); and the SDK-level endpoint is every service's, not only the nine services
    the block named.
    Source: https://docs.aws.amazon.com/sdkref/latest/guide/feature-ss-endpoints.html
    """
    lines = [
        'provider "aws" {',
        *([f'  alias                       = "{alias}"'] if alias else []),
        f'  region                      = "{region}"',
        '  access_key                  = "testing"',
        '  secret_key                  = "testing"',
        "  skip_credentials_validation = true",
        "  skip_metadata_api_check     = true",
        "  skip_requesting_account_id  = true",
        "  skip_region_validation      = true",
    ]
    if endpoint:
        assert profiles is not None, "an endpoint is given through a profile"
        lines.append(f'  profile                     = "{alias or "moto"}"')
        lines.append(f"  shared_config_files         = [{json.dumps(str(profiles))}]")
    lines.append("}")
    return "\n".join(lines) + "\n"


def profile_text(endpoints: dict[str, str]) -> str:
    """The shared config file for :func:`provider_block`: {profile: endpoint URL}."""
    return "".join(f"[profile {name}]\nendpoint_url = {url}\n\n" for name, url in sorted(endpoints.items()))


@dataclass
class Run:
    args: list[str]
    returncode: int
    stdout: str
    stderr: str


@dataclass(frozen=True)
class Module:
    """One module block of a :class:`Root`, with a provider of its own (``aws.<name>``), or
    the provider ``aws.<provider>`` that modules with the same region and endpoint share
    (each provider configuration is a provider process in every graph walk)."""

    name: str
    source: Path
    region: str = "us-east-1"
    endpoint: str | None = None
    provider: str | None = None

    @property
    def alias(self) -> str:
        return self.provider or self.name


class Root:
    """A root configuration in ``path`` that calls the module at ``module_dir`` (as
    ``module.rotation``, with the default provider), or each of ``modules`` (as
    ``module.<name>``, each with its provider ``aws.<name>``)."""

    def __init__(
        self,
        tf: Terraform,
        path: Path,
        module_dir: Path | None = None,
        region: str = "us-east-1",
        endpoint: str | None = None,
        *,
        modules: list[Module] | None = None,
    ):
        self.tf = tf
        self.path = path
        self.module_dir = module_dir
        path.mkdir(parents=True, exist_ok=True)
        profiles = path.resolve() / PROFILES
        if modules is None:
            assert module_dir is not None
            text = provider_block(region, endpoint, profiles=profiles)
            text += self._module_block(Module("rotation", module_dir), None)
            endpoints = {"moto": endpoint} if endpoint else {}
        else:
            assert module_dir is None and modules, "either module_dir or modules"
            assert len({m.name for m in modules}) == len(modules), [m.name for m in modules]
            providers = {m.alias: (m.region, m.endpoint) for m in modules}
            assert len(providers) == len({(m.alias, m.region, m.endpoint) for m in modules}), "one provider, one place"
            text = "\n".join(
                provider_block(region, endpoint, alias=alias, profiles=profiles)
                for alias, (region, endpoint) in providers.items()
            )
            text += "".join(self._module_block(m, m.alias) for m in modules)
            endpoints = {alias: endpoint for alias, (_, endpoint) in providers.items() if endpoint}
        (path / "main.tf").write_text(text)
        if endpoints:
            profiles.write_text(profile_text(endpoints))

    def _module_block(self, module: Module, alias: str | None) -> str:
        # A relative source makes Terraform use the module in place (an absolute one is copied).
        source = os.path.relpath(module.source.resolve(), self.path.resolve())
        if not source.startswith("."):
            source = "./" + source
        providers = f"\n  providers = {{\n    aws = aws.{alias}\n  }}\n" if alias else ""
        return (
            f'\nmodule "{module.name}" {{\n  source = "{source}"\n{providers}}}\n'
            f'\noutput "{module.name}" {{\n  value = module.{module.name}\n}}\n'
        )

    def run(self, *args: str, check: bool = True, timeout: int = 300) -> Run:
        cmd = [self.tf.binary, *args]
        started = time.monotonic()
        proc = subprocess.run(cmd, cwd=self.path, env=tf_env(self.tf), capture_output=True, text=True, timeout=timeout)
        result = Run(list(args), proc.returncode, proc.stdout, proc.stderr)
        if os.environ.get("ROTATION_TF_TIMING"):
            with open(os.environ["ROTATION_TF_TIMING"], "a") as log:
                test = os.environ.get("PYTEST_CURRENT_TEST", "").rsplit(" (", 1)[0]
                log.write(
                    f"{time.monotonic() - started:7.1f}s terraform {' '.join(args[:2])} ({self.path.name}) {test}\n"
                )
        if check and proc.returncode != 0:
            raise AssertionError(
                f"terraform {' '.join(args)} failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}"
            )
        return result

    def init(self) -> Run:
        return self.run("init", "-input=false", "-no-color", "-backend=false")

    def plan_changes(self, *extra: str, out: str | None = None) -> tuple[int, dict[str, list[str]]]:
        """``plan -detailed-exitcode -json``: the exit code and {managed address: actions}.

        Reads the plan's machine-readable UI stream (``planned_change`` messages) instead
        of a second ``terraform show -json`` run, which would load the provider again.
        No-op resources are not listed; ``replace`` is given as ``["delete", "create"]``.
        With ``out``, the plan is saved there for :meth:`apply_plan`.
        """
        saved = (f"-out={out}",) if out else ()
        run = self.run(
            "plan", "-detailed-exitcode", "-json", "-input=false", "-lock=false", *saved, *extra, check=False
        )
        if run.returncode not in (0, 2):
            raise AssertionError(f"terraform plan failed ({run.returncode}):\n{run.stdout}\n{run.stderr}")
        changes: dict[str, list[str]] = {}
        for line in run.stdout.splitlines():
            msg = json.loads(line)
            if msg.get("type") != "planned_change":
                continue
            res = msg["change"]["resource"]
            if res.get("resource", res["addr"]).startswith("data."):
                continue
            action = msg["change"]["action"]
            changes[res["addr"]] = ["delete", "create"] if action == "replace" else [action]
        if (run.returncode == 0) != (not changes):
            raise AssertionError(f"exit code {run.returncode} but changes {changes}")
        return run.returncode, changes

    def plan_json(self, *extra: str) -> dict:
        """The plan as ``terraform show -json`` gives it; saved as ``tfplan`` for :meth:`apply_plan`."""
        self.run("plan", "-input=false", "-no-color", "-lock=false", "-out=tfplan", *extra)
        shown = self.run("show", "-json", "tfplan")
        return json.loads(shown.stdout)

    def apply_plan(self, plan: str = "tfplan", check: bool = True) -> Run:
        """Apply a saved plan: exactly what the test read from it, without planning again (a
        plain ``apply`` validates, refreshes and plans anew: two more provider starts)."""
        return self.run("apply", "-input=false", "-no-color", "-lock=false", plan, check=check, timeout=600)

    def apply(self, check: bool = True) -> Run:
        return self.run("apply", "-auto-approve", "-input=false", "-no-color", "-lock=false", check=check, timeout=600)

    @staticmethod
    def of_module(changes: dict[str, list[str]], name: str) -> dict[str, list[str]]:
        """The changes of ``module.<name>`` in a multi-module root, as a single-module root
        (``module.rotation``) would list them."""
        prefix = f"module.{name}."
        return {"module.rotation." + a[len(prefix) :]: c for a, c in changes.items() if a.startswith(prefix)}


# ---------------------------------------------------------------------------------------
# What an account holds before a module is applied


def dummy_zip() -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("lambda_function.py", "def lambda_handler(e, c):\n    return None\n")
    return buf.getvalue()


def seed_moto(moto: MotoServer, region: str, functions: list[str], secrets: list[str]) -> None:
    """What exists before the module: an execution role, the named functions using it, and
    the named secrets, each with a version (rotation needs one)."""
    iam = moto.client("iam", region)
    role = iam.create_role(
        RoleName="existing-rotator-role",
        AssumeRolePolicyDocument=json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [
                    {"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}
                ],
            }
        ),
    )["Role"]["Arn"]
    lam = moto.client("lambda", region)
    for name in functions:
        lam.create_function(
            FunctionName=name,
            Runtime="python3.12",
            Role=role,
            Handler="lambda_function.lambda_handler",
            Code={"ZipFile": dummy_zip()},
        )
    sm = moto.client("secretsmanager", region)
    for name in secrets:
        sm.create_secret(Name=name, SecretString=json.dumps({"username": "u", "password": "p"}))
