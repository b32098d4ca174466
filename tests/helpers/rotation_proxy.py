"""A loopback proxy that enforces IAM between a rotation function and moto.

The rotation tier runs AWS's rotation functions in a process whose only credentials are
those of the role the function runs as. Every AWS call of that process goes to this proxy,
which

1. checks the SigV4 signature against the credentials it issued (:meth:`EnforcingProxy.issue`),
   so it knows which role signed the call and that no other credentials were used;
2. evaluates the call with :mod:`iam_strict` against the role's inline and attached
   policies (and its permissions boundary) as moto holds them at that moment, so a policy
   the test changes in moto takes effect on the next call;
3. for a secret encrypted with a customer managed key, also evaluates the KMS call that
   Secrets Manager makes on the caller's behalf (GetSecretValue: ``kms:Decrypt``;
   PutSecretValue: ``kms:GenerateDataKey`` and ``kms:Decrypt``, per
   https://docs.aws.amazon.com/secretsmanager/latest/apireference/API_GetSecretValue.html and
   https://docs.aws.amazon.com/secretsmanager/latest/apireference/API_PutSecretValue.html), with the
   encryption context Secrets Manager uses (``SecretARN``, ``SecretVersionId``:
   https://docs.aws.amazon.com/secretsmanager/latest/userguide/security-encryption.html);
4. answers ``AccessDeniedException`` (Secrets Manager) or ``AccessDenied`` (RDS) when the
   call is not allowed or cannot be evaluated, and otherwise forwards it to moto unchanged.

moto limits worked around here, each named where it is handled:

* ``ASSUME_ROLE``: moto's AssumeRole on a trust policy that names only
  ``lambda.amazonaws.com`` fails with HTTP 500, and Lambda's own credential vending does not
  exist in moto. The proxy issues the role's temporary credentials itself (as Lambda would
  hand them to the function) and knows which role each access key belongs to.
* ``ENFORCEMENT``: moto's IAM enforcement is wrong (see tests/helpers/iam_strict.py); it stays off,
  and this proxy enforces instead.
* ``KMS``: moto does not model the KMS calls Secrets Manager makes for a customer managed
  key; the proxy evaluates them (step 3).
* ``RDS_ENDPOINT``: moto's DB instances have made-up DNS names. In DescribeDBInstances
  answers the proxy replaces the address of an instance registered with
  :meth:`EnforcingProxy.map_endpoint` by the loopback address its real database listens on.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import secrets
import threading
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from helpers import iam_strict

SECRET_ARN_RE = re.compile(r"^arn:[^:]+:secretsmanager:[^:]+:\d{12}:secret:")
# The context keys the proxy can supply (iam_strict fails closed on any other).
COMMON_KEYS = frozenset({"aws:principalarn", "aws:principalaccount", "aws:requestedregion", "aws:securetransport"})
SECRETS_KEYS = COMMON_KEYS | {
    "secretsmanager:secretid",
    "secretsmanager:resource/allowrotationlambdaarn",
    "secretsmanager:resourcetag/",
    "aws:resourcetag/",
    "secretsmanager:versionstage",
    "secretsmanager:versionid",
}
KMS_KEYS = COMMON_KEYS | {
    "kms:encryptioncontext:secretarn",
    "kms:encryptioncontext:secretversionid",
    "kms:viaservice",
    "kms:calleraccount",
}
RDS_KEYS = COMMON_KEYS


@dataclass
class Decision:
    role: str
    action: str
    resource: str
    allowed: bool
    reason: str = ""
    step: str = ""  # the rotation step that made the call (the runner's X-Rotation-Step)


@dataclass
class Issued:
    secret_key: str
    token: str
    role_arn: str


@dataclass
class EnforcingProxy:
    moto_url: str
    account: str
    region: str
    log: list[Decision] = field(default_factory=list)
    credentials: dict[str, Issued] = field(default_factory=dict)
    endpoints: dict[str, tuple[str, int]] = field(default_factory=dict)  # RDS_ENDPOINT

    def __post_init__(self) -> None:
        import boto3

        def admin(service: str):
            return boto3.client(
                service,
                region_name=self.region,
                endpoint_url=self.moto_url,
                aws_access_key_id="testing",
                aws_secret_access_key="testing",
            )

        self.iam = admin("iam")
        self.sm = admin("secretsmanager")
        self.kms = admin("kms")
        self._lock = threading.Lock()
        self._policies: dict[str, tuple[list[dict], dict | None]] = {}
        self._keys: dict[str, str | None] = {}
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 (http.server's name)
                proxy._handle(self)

            def log_message(self, *args) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    # -- credentials (moto limit ASSUME_ROLE) ------------------------------------------

    def issue(self, role_arn: str) -> dict[str, str]:
        """Temporary credentials for ``role_arn``, as the environment variables Lambda sets."""
        akid = "ASIA" + secrets.token_hex(8).upper()
        issued = Issued(secrets.token_urlsafe(30), secrets.token_urlsafe(40), role_arn)
        self.credentials[akid] = issued
        return {
            "AWS_ACCESS_KEY_ID": akid,
            "AWS_SECRET_ACCESS_KEY": issued.secret_key,
            "AWS_SESSION_TOKEN": issued.token,
        }

    def map_endpoint(self, instance_address: str, host: str, port: int) -> None:
        """moto limit RDS_ENDPOINT: the instance at ``instance_address`` answers on host:port."""
        self.endpoints[instance_address] = (host, port)

    # -- one request -------------------------------------------------------------------

    def _handle(self, h: BaseHTTPRequestHandler) -> None:
        length = int(h.headers.get("Content-Length") or 0)
        body = h.rfile.read(length) if length else b""
        with self._lock:
            try:
                status, headers, out = self._decide_and_forward(h, body)
            except Exception as exc:  # fail closed, visibly
                self.log.append(Decision("?", "?", "?", False, f"proxy error: {exc!r}"))
                status, headers, out = 500, {"Content-Type": "text/plain"}, f"proxy error: {exc!r}".encode()
        h.send_response(status)
        for k, v in headers.items():
            h.send_header(k, v)
        h.send_header("Content-Length", str(len(out)))
        h.end_headers()
        h.wfile.write(out)

    def _decide_and_forward(self, h: BaseHTTPRequestHandler, body: bytes) -> tuple[int, dict[str, str], bytes]:
        auth = h.headers.get("Authorization", "")
        m = re.match(
            r"AWS4-HMAC-SHA256 Credential=([^/]+)/(\d{8})/([^/]+)/([^/]+)/aws4_request, SignedHeaders=([^,]+), Signature=([0-9a-f]+)$",
            auth,
        )
        service = m.group(4) if m else ("secretsmanager" if h.headers.get("X-Amz-Target") else "rds")
        if not m:
            return self._deny(service, "?", "?", "?", "request is not signed with SigV4")
        akid, date, region, service, signed, signature = m.groups()
        issued = self.credentials.get(akid)
        if issued is None:
            return self._deny(service, "?", "?", "?", f"access key {akid} was not issued by the harness")
        if h.headers.get("X-Amz-Security-Token") != issued.token:
            return self._deny(service, issued.role_arn, "?", "?", "session token does not match the access key")
        if not _signature_ok(h, body, issued.secret_key, date, region, service, signed.split(";"), signature):
            return self._deny(service, issued.role_arn, "?", "?", "SigV4 signature does not verify")
        role_arn = issued.role_arn
        step = h.headers.get("X-Rotation-Step", "")
        if service == "secretsmanager":
            calls = self._secrets_calls(h, body, role_arn)
        elif service == "rds":
            calls = self._rds_calls(body, role_arn)
        else:
            return self._deny(service, role_arn, "?", "?", f"service {service} is not modelled by the proxy")
        policies, boundary = self._policies_for(akid, role_arn)
        for call in calls:
            try:
                ok = iam_strict.decide(policies, call, boundary)
                reason = "" if ok else "no statement allows it (or a Deny applies)"
            except iam_strict.CannotEvaluate as exc:
                ok, reason = False, f"cannot evaluate: {exc}"
            if not ok:
                return self._deny(service, role_arn, call.action, call.resource, reason, step)
            self.log.append(Decision(role_arn, call.action, call.resource, True, step=step))
        return self._forward(h, body, service)

    def _deny(self, service: str, role: str, action: str, resource: str, reason: str, step: str = ""):
        self.log.append(Decision(role, action, resource, False, reason, step))
        message = f"User: {role} is not authorized to perform: {action} on resource: {resource} ({reason})"
        if service == "rds":
            xml = (
                "<ErrorResponse><Error><Type>Sender</Type><Code>AccessDenied</Code>"
                f"<Message>{message}</Message></Error><RequestId>proxy</RequestId></ErrorResponse>"
            )
            return 403, {"Content-Type": "text/xml"}, xml.encode()
        out = json.dumps({"__type": "AccessDeniedException", "Message": message}).encode()
        return 400, {"Content-Type": "application/x-amz-json-1.1"}, out

    def _policies_for(self, akid: str, role_arn: str) -> tuple[list[dict], dict | None]:
        """The role's policies as moto holds them when these credentials are first used
        (each run of a function gets new credentials, so a policy the test changes between
        runs is what the next run is judged by)."""
        if akid not in self._policies:
            self._policies[akid] = self._role_policies(role_arn)
        return self._policies[akid]

    def _role_policies(self, role_arn: str) -> tuple[list[dict], dict | None]:
        name = role_arn.rsplit("/", 1)[1]
        docs = []
        for pname in self.iam.list_role_policies(RoleName=name)["PolicyNames"]:
            docs.append(self.iam.get_role_policy(RoleName=name, PolicyName=pname)["PolicyDocument"])
        for att in self.iam.list_attached_role_policies(RoleName=name)["AttachedPolicies"]:
            docs.append(self._managed(att["PolicyArn"]))
        role = self.iam.get_role(RoleName=name)["Role"]
        boundary = role.get("PermissionsBoundary", {}).get("PermissionsBoundaryArn")
        return docs, (self._managed(boundary) if boundary else None)

    def _managed(self, arn: str) -> dict:
        version = self.iam.get_policy(PolicyArn=arn)["Policy"]["DefaultVersionId"]
        doc = self.iam.get_policy_version(PolicyArn=arn, VersionId=version)["PolicyVersion"]["Document"]
        return json.loads(urllib.parse.unquote(doc)) if isinstance(doc, str) else doc

    def _common(self, role_arn: str) -> dict[str, str]:
        return {
            "aws:PrincipalArn": role_arn,
            "aws:PrincipalAccount": self.account,
            "aws:RequestedRegion": self.region,
            "aws:SecureTransport": "true",  # Lambda reaches the endpoints over HTTPS
        }

    def _secrets_calls(self, h: BaseHTTPRequestHandler, body: bytes, role_arn: str) -> list[iam_strict.Call]:
        target = h.headers.get("X-Amz-Target", "")
        operation = target.split(".", 1)[1]
        params = json.loads(body or b"{}")
        action = f"secretsmanager:{operation}"
        ctx = self._common(role_arn)
        if operation == "GetRandomPassword":  # no resource type
            return [iam_strict.Call(action, "*", ctx, SECRETS_KEYS)]
        secret_id = params["SecretId"]
        ctx["secretsmanager:SecretId"] = secret_id
        for key in ("VersionStage", "VersionId"):
            if params.get(key):
                ctx[f"secretsmanager:{key}"] = params[key]
        try:
            meta = self.sm.describe_secret(SecretId=secret_id)
        except self.sm.exceptions.ResourceNotFoundException:
            # IAM judges the ARN as asked for; the partial ARN of a name.
            arn = secret_id if SECRET_ARN_RE.match(secret_id) else self._partial(secret_id)
            return [iam_strict.Call(action, arn, ctx, SECRETS_KEYS)]
        arn = meta["ARN"]
        if meta.get("RotationLambdaARN"):
            ctx["secretsmanager:resource/AllowRotationLambdaArn"] = meta["RotationLambdaARN"]
        for tag in meta.get("Tags", []):
            ctx[f"aws:ResourceTag/{tag['Key']}"] = tag["Value"]
            ctx[f"secretsmanager:ResourceTag/{tag['Key']}"] = tag["Value"]
        calls = [iam_strict.Call(action, arn, ctx, SECRETS_KEYS)]
        key = self._customer_key(meta.get("KmsKeyId"))
        kms_actions = {"GetSecretValue": ["kms:Decrypt"], "PutSecretValue": ["kms:GenerateDataKey", "kms:Decrypt"]}
        if key and operation in kms_actions:  # moto limit KMS
            kctx = {
                **self._common(role_arn),
                "kms:EncryptionContext:SecretARN": arn,
                "kms:ViaService": f"secretsmanager.{self.region}.amazonaws.com",
                "kms:CallerAccount": self.account,
            }
            version = params.get("VersionId") or params.get("ClientRequestToken")
            if version:
                kctx["kms:EncryptionContext:SecretVersionId"] = version
            calls += [iam_strict.Call(a, key, kctx, KMS_KEYS) for a in kms_actions[operation]]
        return calls

    def _partial(self, name: str) -> str:
        return f"arn:aws:secretsmanager:{self.region}:{self.account}:secret:{name}"

    def _customer_key(self, key_id: str | None) -> str | None:
        """The ARN of a customer managed key, or None for the AWS managed aws/secretsmanager."""
        if not key_id or key_id in ("alias/aws/secretsmanager",):
            return None
        if key_id not in self._keys:
            meta = self.kms.describe_key(KeyId=key_id)["KeyMetadata"]
            self._keys[key_id] = None if meta.get("KeyManager") == "AWS" else meta["Arn"]
        return self._keys[key_id]

    def _rds_calls(self, body: bytes, role_arn: str) -> list[iam_strict.Call]:
        params = dict(urllib.parse.parse_qsl(body.decode()))
        action = f"rds:{params['Action']}"
        ident = params.get("DBInstanceIdentifier") or params.get("DBClusterIdentifier")
        if ident is None:
            resource = "*"
        elif ident.startswith("arn:"):
            resource = ident
        else:
            kind = "db" if "DBInstanceIdentifier" in params else "cluster"
            resource = f"arn:aws:rds:{self.region}:{self.account}:{kind}:{ident}"
        return [iam_strict.Call(action, resource, self._common(role_arn), RDS_KEYS)]

    def _forward(self, h: BaseHTTPRequestHandler, body: bytes, service: str) -> tuple[int, dict[str, str], bytes]:
        drop = ("host", "content-length", "connection", "x-rotation-step")
        headers = {k: v for k, v in h.headers.items() if k.lower() not in drop}
        req = urllib.request.Request(self.moto_url + h.path, data=body, headers=headers, method="POST")
        try:
            with urllib.request.urlopen(req, timeout=30) as resp:
                status, rh, out = resp.status, dict(resp.headers), resp.read()
        except urllib.error.HTTPError as err:
            status, rh, out = err.code, dict(err.headers), err.read()
        if service == "rds" and self.endpoints:  # moto limit RDS_ENDPOINT
            text = out.decode()
            for address, (host, port) in self.endpoints.items():
                text = text.replace(f"<Address>{address}</Address>", f"<Address>{host}</Address>")
                del port  # the instance is created with the real port
            out = text.encode()
        keep = {k: v for k, v in rh.items() if k.lower() in ("content-type", "x-amzn-requestid", "x-amz-request-id")}
        return status, keep, out


def _signature_ok(
    h: BaseHTTPRequestHandler,
    body: bytes,
    secret_key: str,
    date: str,
    region: str,
    service: str,
    signed: list[str],
    signature: str,
) -> bool:
    """SigV4 (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_sigv.html), recomputed."""
    amz_date = h.headers.get("X-Amz-Date", "")
    if not amz_date.startswith(date):
        return False
    split = urllib.parse.urlsplit(h.path)
    query = "&".join(
        f"{urllib.parse.quote(k, safe='-_.~')}={urllib.parse.quote(v, safe='-_.~')}"
        for k, v in sorted(urllib.parse.parse_qsl(split.query, keep_blank_values=True))
    )
    canonical_headers = "".join(f"{name}:{' '.join((h.headers.get(name) or '').split())}\n" for name in signed)
    payload = h.headers.get("X-Amz-Content-SHA256") or hashlib.sha256(body).hexdigest()
    canonical = "\n".join([h.command, split.path or "/", query, canonical_headers, ";".join(signed), payload])
    scope = f"{date}/{region}/{service}/aws4_request"
    to_sign = "\n".join(["AWS4-HMAC-SHA256", amz_date, scope, hashlib.sha256(canonical.encode()).hexdigest()])
    key = ("AWS4" + secret_key).encode()
    for part in (date, region, service, "aws4_request"):
        key = hmac.new(key, part.encode(), hashlib.sha256).digest()
    expected = hmac.new(key, to_sign.encode(), hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, signature)
