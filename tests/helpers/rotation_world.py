"""The rotation tier's harness: AWS's rotation functions, run for real under the generated grants.

One world per test session: real PostgreSQL 15 and MariaDB servers (tests/helpers/databases.py),
a moto server, the enforcing proxy (tests/helpers/rotation_proxy.py), and one manifest holding
every case, generated and applied with terraform against moto. A rotation is then driven as
Secrets Manager drives it (:meth:`World.rotate`): the AWSPENDING placeholder, then
createSecret, setSecret, testSecret and finishSecret with one client request token, run by
AWS's function (tests/helpers/rotation_runner.py) in a process of that function's own, which stays
up between rotations as a warm Lambda execution environment does, whose environment holds
only the function's configured environment, the region and the endpoints, and which runs
each rotation under new credentials of the role the function runs as (read from the
function's configuration); then the service's own last step, removing AWSPENDING.

AWS's functions are read from ``../shared/aws-rotation-functions`` beside the checkout
(``ROTATION_TF_AWS_FUNCTIONS`` overrides), never modified; what they need and the module
does not provide is the test's to supply, and named here.

moto limits worked around (besides the proxy's ASSUME_ROLE, ENFORCEMENT, KMS, RDS_ENDPOINT):

* ``PENDING_PLACEHOLDER``: Secrets Manager starts a rotation by attaching AWSPENDING to a new
  version that has no value yet (the function's createSecret relies on it: the version must
  exist, and reading its value must fail). moto creates such a version only in RotateSecret,
  so the harness calls RotateSecret (with the function's own ARN, as configured by
  terraform); with use_docker off moto only pretends to invoke the function, and the harness
  runs the four steps itself. moto also points its internal default version at the new
  version, but leaves the staging labels alone, and every call of AWS's code names a stage.
* ``ENDPOINT``: a function's ``SECRETS_MANAGER_ENDPOINT`` is the regional HTTPS endpoint
  (the test asserts it), which a loopback process cannot reach; the runner gets the proxy's
  URL in its place. RDS, which AWS's code reaches through boto3's default endpoint, gets it
  through ``AWS_ENDPOINT_URL_RDS``.
* ``LAMBDA_CA``: AWS's MySQL and MariaDB functions first try TLS with Amazon Linux's CA
  bundle, ``/etc/pki/tls/cert.pem``, which Lambda's image has; where the file is absent,
  PyMySQL raises FileNotFoundError, which the code does not catch (PyGreSQL fails softly
  and the PostgreSQL code falls back to plain TCP). The test's servers have no TLS, so the
  MySQL and MariaDB secrets say ``"ssl": false``, a field AWS's code reads (``get_ssl_config``).
  (Not a moto limit: a difference between Lambda's image and this machine.)
* ``CODE``: moto stores a function's code but cannot hand it back; the runner runs the zip
  the function was created from, after the test checks that the function's ``CodeSha256``
  is that zip's.
* ``HOSTS``: the replica cases name the PostgreSQL server by RDS endpoint names that moto made
  up (a read replica's, an Aurora cluster's writer and reader endpoints), which are in no DNS.
  AWS's PostgreSQL functions connect through libpq, which takes the address to connect to
  from ``PGHOSTADDR`` and keeps the name for everything else: the function's process gets
  the server's loopback address there, so every name reaches the one server, as the
  replica's and the reader's endpoints reach their cluster's data on AWS. (Not a moto limit:
  names without DNS.)
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
import os
import select
import shutil
import subprocess
import sys
import tempfile
import uuid
import weakref
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

from helpers.aws_functions import required_copy

ROOT = Path(__file__).resolve().parents[2]
RUNNER = Path(__file__).resolve().parent / "rotation_runner.py"

# (engine, strategy) -> AWS's function folder
AWS_FUNCTION = {
    ("postgresql", "single_user"): "SecretsManagerRDSPostgreSQLRotationSingleUser",
    ("postgresql", "alternating_users"): "SecretsManagerRDSPostgreSQLRotationMultiUser",
    ("mysql", "single_user"): "SecretsManagerRDSMySQLRotationSingleUser",
    ("mysql", "alternating_users"): "SecretsManagerRDSMySQLRotationMultiUser",
    ("mariadb", "single_user"): "SecretsManagerRDSMariaDBRotationSingleUser",
    ("mariadb", "alternating_users"): "SecretsManagerRDSMariaDBRotationMultiUser",
}
STEPS = ("createSecret", "setSecret", "testSecret", "finishSecret")


def functions_dir() -> Path:
    """AWS's published rotation functions (helpers.aws_functions.shared_copy)."""
    return required_copy()


def function_zip(folder: Path) -> bytes:
    """AWS's function as a deployment package: its folder's files, byte for byte, fixed dates."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        for f in sorted(p for p in folder.rglob("*") if p.is_file()):
            info = zipfile.ZipInfo(str(f.relative_to(folder)), date_time=(2020, 1, 1, 0, 0, 0))
            info.external_attr = 0o644 << 16
            z.writestr(info, f.read_bytes())
    return buf.getvalue()


def code_sha256(data: bytes) -> str:
    return base64.b64encode(hashlib.sha256(data).digest()).decode()


@dataclass
class Outcome:
    token: str
    done: list[str]
    failed: str | None
    error: str | None
    code: str | None
    stderr: str
    denied: list = field(default_factory=list)  # proxy decisions that denied a call

    @property
    def ok(self) -> bool:
        return self.failed is None


@dataclass
class Function:
    """A rotation function as applied: what the test reads from its configuration."""

    key: str
    name: str
    arn: str
    role_arn: str
    environment: dict[str, str]
    code_dir: Path


class _Runner:
    """tests/helpers/rotation_runner.py serving one function: one rotation per request line."""

    def __init__(self, code_dir: Path, env: dict[str, str], log: Path):
        self.log = log
        self._stderr = open(log, "w")  # the process's own output; each rotation's log comes back with it
        self.proc = subprocess.Popen(
            [sys.executable, "-I", str(RUNNER), str(code_dir)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self._stderr,
            env=env,
            text=True,
        )

    def call(self, request: dict, timeout: float = 120) -> dict:
        assert self.proc.stdin is not None and self.proc.stdout is not None
        try:
            self.proc.stdin.write(json.dumps(request) + "\n")
            self.proc.stdin.flush()
        except BrokenPipeError:
            pass  # reported below, with what the process said
        ready, _, _ = select.select([self.proc.stdout], [], [], timeout)
        line = self.proc.stdout.readline() if ready else ""
        if not line:
            if not ready:
                self.proc.kill()
            self.proc.wait(timeout=10)
            said = self.log.read_text()[-3000:]
            raise AssertionError(f"runner {'timed out' if not ready else 'crashed'} ({self.proc.returncode}):\n{said}")
        return json.loads(line)

    def close(self) -> None:
        if self.proc.poll() is None:
            assert self.proc.stdin is not None
            self.proc.stdin.close()  # end of input ends the runner
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)
        self._stderr.close()


def _close_all(runners: dict[str, _Runner], logs: Path) -> None:
    for runner in runners.values():
        runner.close()
    runners.clear()
    shutil.rmtree(logs, ignore_errors=True)


class Rotator:
    """Drives rotations of secrets through AWS's code under a role's credentials: one runner
    process per function, started at its first rotation and ended with the Rotator."""

    def __init__(self, moto, proxy, region: str, pg_hostaddr: str | None = None):
        self.moto = moto
        self.proxy = proxy
        self.region = region
        self.pg_hostaddr = pg_hostaddr  # HOSTS
        self.sm = moto.client("secretsmanager", region)
        self._runners: dict[str, _Runner] = {}
        self._logs = Path(tempfile.mkdtemp(prefix="rotation-runner-"))
        self._finalizer = weakref.finalize(self, _close_all, self._runners, self._logs)

    def close(self) -> None:
        self._finalizer()

    def regional_endpoint(self) -> str:
        return f"https://secretsmanager.{self.region}.amazonaws.com"

    def env(self, fn: Function) -> dict[str, str]:
        """The function's process environment; credentials come with each rotation."""
        env = dict(fn.environment)
        assert env.get("SECRETS_MANAGER_ENDPOINT") == self.regional_endpoint(), (fn.key, env)
        env["SECRETS_MANAGER_ENDPOINT"] = self.proxy.url  # moto limit ENDPOINT
        env.update(
            AWS_REGION=self.region,
            AWS_DEFAULT_REGION=self.region,
            AWS_ENDPOINT_URL_RDS=self.proxy.url,  # moto limit ENDPOINT
            # nothing else may supply credentials or configuration
            AWS_CONFIG_FILE=os.devnull,
            AWS_SHARED_CREDENTIALS_FILE=os.devnull,
            AWS_EC2_METADATA_DISABLED="true",
        )
        if self.pg_hostaddr:
            env["PGHOSTADDR"] = self.pg_hostaddr  # HOSTS
        return env

    def _runner(self, fn: Function) -> _Runner:
        runner = self._runners.get(fn.key)
        if runner is None or runner.proc.poll() is not None:
            runner = self._runners[fn.key] = _Runner(fn.code_dir, self.env(fn), self._logs / f"{fn.key}.log")
        return runner

    def start(self, secret_arn: str, fn: Function) -> str:
        """The service's first move: a new version id holding AWSPENDING and no value."""
        token = str(uuid.uuid4())
        # moto limit PENDING_PLACEHOLDER
        self.sm.rotate_secret(SecretId=secret_arn, ClientRequestToken=token, RotationLambdaARN=fn.arn)
        stages = self.sm.describe_secret(SecretId=secret_arn)["VersionIdsToStages"]
        assert stages.get(token) == ["AWSPENDING"], stages
        return token

    def run(self, secret_id: str, fn: Function, token: str, steps=STEPS) -> Outcome:
        mark = len(self.proxy.log)
        credentials = self.proxy.issue(fn.role_arn)  # moto limit ASSUME_ROLE; new for each rotation
        got = self._runner(fn).call(
            {"SecretId": secret_id, "ClientRequestToken": token, "Steps": list(steps), "Credentials": credentials}
        )
        denied = [d for d in self.proxy.log[mark:] if not d.allowed]
        return Outcome(token, got["done"], got["failed"], got["error"], got["code"], got["log"], denied)

    def finish(self, secret_arn: str, token: str) -> None:
        """The service's last move after finishSecret: AWSPENDING leaves the new version."""
        stages = self.sm.describe_secret(SecretId=secret_arn)["VersionIdsToStages"]
        if "AWSPENDING" in stages.get(token, []):
            self.sm.update_secret_version_stage(
                SecretId=secret_arn, VersionStage="AWSPENDING", RemoveFromVersionId=token
            )

    def abandon(self, secret_arn: str, token: str) -> None:
        """Drop a failed rotation's version from AWSPENDING, so the next rotation starts afresh."""
        self.finish(secret_arn, token)

    def rotate(self, secret_arn: str, fn: Function, secret_id: str | None = None) -> Outcome:
        """One whole rotation; AWSPENDING is removed only when it succeeded."""
        token = self.start(secret_arn, fn)
        out = self.run(secret_id or secret_arn, fn, token)
        if out.ok:
            self.finish(secret_arn, token)
        return out
