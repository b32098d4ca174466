"""``rotation-tf discover``: a manifest for the secrets that already rotate in a region.

Calls (all read-only, each paginated list followed to its end):

* ``ListSecrets`` once per 100 secrets: each entry already carries the rotation (enabled,
  function, ``RotationRules`` with days, expression and window) and the KMS key
  (https://docs.aws.amazon.com/secretsmanager/latest/apireference/API_SecretListEntry.html),
  so a rotated secret costs no call of its own.
* Per rotation function, once: ``GetFunction`` (configuration, VPC, role and tags),
  ``GetPolicy`` and the role's ``ListRolePolicies`` (only to tell whether the resources
  that ``import: true`` adopts already exist). ``Configuration.Role`` is the role the
  function runs as; a custom function's entry names it as ``execution_role_arn``, the role
  the module puts its own least-privilege inline policy on (it never manages that role's
  trust policy, its other policies or its attachments, and creates no role for the
  function), and the plan fails if the function runs as another role by then.
* Per KMS key, once: ``DescribeKey`` (an AWS managed key is left out; an alias becomes the
  key ARN the manifest needs).
* With ``--read-values`` only: ``GetSecretValue`` per rotated secret, from which only
  ``engine``, ``host`` and ``masterarn`` are taken, and per master secret its ``host`` and
  ``engine``: a secret whose host is not its master's gets ``replica_of_master`` (the read
  replica's identifier, the host's first label; or for an Aurora master the cluster's, its
  endpoint's first label), which the grants of its replica check follow. Nothing else of a
  value is kept or written, hosts included. A value is evidence about its own secret: a function's engine and strategy come from its
  secrets' values only where every one was read and they agree, a master secret only from
  the secret's own value and only when it is a secret of this account and region that
  discover listed; everything else is a FILL-IN placeholder with the evidence in a comment,
  and the summary lists every grant a value chose (issue 26, section 3).

What only a value can say is never guessed: without ``--read-values`` a custom function's
engine and strategy, and a master secret, are FILL-IN-... placeholders
(:data:`generator.manifest.PLACEHOLDERS`) that validate rejects, naming the flag.

AWS's published rotation applications are recognised by the tags that the Serverless
Application Repository puts on what it deploys, ``serverlessrepo:applicationId`` and
``serverlessrepo:semanticVersion``
(https://docs.aws.amazon.com/serverless-application-model/latest/developerguide/sam-resource-application.html):
the application's name gives the engine and the strategy.

The manifest is checked with rotation-tf's own validation before it is written (with each
placeholder standing in for a value, so that the rest of its entry is judged); an entry that
would not validate is left out, in a comment that says why, so that the file is accepted
once its placeholders are filled in. Every comment line is written by :func:`comment`, which
escapes what it is given (:func:`comment_text`); every key and value by :func:`key_line` and
:func:`yq`, which read back as exactly the account's string (issue 26 §2).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

from generator import __version__, aws, aws_calls, engines, terminal
from generator.live.client import Aws, Denied, LiveError, Memo, NotFound, current_value_fields

_APP_RE = re.compile(r"applications/SecretsManager(?P<engine>[A-Za-z0-9]+)Rotation(?P<scheme>SingleUser|MultiUser)$")
_REAL_ENGINES = [e for e in engines.ENGINES if e != engines.OTHER]
_ENGINE_BY_APP = {engines.application_infix(e): e for e in _REAL_ENGINES}
_ENGINE_BY_VALUE = {engines.secret_engine(e): e for e in _REAL_ENGINES}


def engine_of_value(value: str) -> str | None:
    """The manifest engine for a secret's ``engine`` field (``postgres`` -> postgresql); the
    Aurora and DocumentDB spellings count as their engines."""
    v = value.lower().removeprefix("aurora-")
    v = {"aurora": "mysql", "docdb": "mongo"}.get(v, v)
    return _ENGINE_BY_VALUE.get(v) or (v if v in _REAL_ENGINES else None)


_KEY_RE = re.compile(r"[^A-Za-z0-9_-]")
_WINDOW_RE = re.compile(r"^([1-9]|1[0-9]|2[0-4])h$")


# Escapes of a YAML double-quoted scalar (https://yaml.org/spec/1.2.2/#57-escaped-characters);
# NEL, LS and PS are line breaks to YAML (https://yaml.org/spec/1.2.2/#54-line-break-characters):
# written raw inside quotes they are folded into a space, and the value changes.
_YAML_ESCAPES = {'"': '\\"', "\\": "\\\\", "\n": "\\n", "\r": "\\r", "\t": "\\t",
                 "\x85": "\\N", "\u2028": "\\L", "\u2029": "\\P"}  # fmt: skip
# Not in YAML's character set (https://yaml.org/spec/1.2.2/#51-character-set) beyond what
# terminal.hidden names: a reader refuses the whole file when it meets one raw.
_NOT_YAML = frozenset("\ufffe\uffff")
_KEY_MAX = 1000  # a YAML reader finds a mapping's ':' only within 1024 characters of an implicit key


def _yaml_char(ch: str) -> str:
    if ch in _YAML_ESCAPES:
        return _YAML_ESCAPES[ch]
    if terminal.hidden(ch) or ch in _NOT_YAML:
        # a lone surrogate is not text: no YAML reader accepts it, raw or escaped (libyaml
        # refuses \ud800); it is written as U+FFFD, the replacement character
        return terminal.escape("\ufffd" if "\ud800" <= ch <= "\udfff" else ch)
    return ch


def yq(value: Any) -> str:
    """A YAML scalar: a string double-quoted, every character YAML would fold, refuse or not
    show (line breaks, controls, bidirectional and zero-width marks) as its escape, so that
    the scalar reads back as exactly the string (a lone surrogate excepted: U+FFFD); numbers
    and booleans as they are."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    text = str(value)
    if text.isascii() and text.isprintable() and '"' not in text and "\\" not in text:
        return f'"{text}"'  # nearly every value (ARNs, names): nothing to escape
    return '"' + "".join(_yaml_char(ch) for ch in text) + '"'


def key_line(indent: str, key: str) -> str:
    """The line(s) that open ``key``'s entry in a block mapping: ``"key":``, or, for a key too
    long for an implicit key, the explicit form (``? "key"`` then ``:``)."""
    quoted = yq(key)
    if len(quoted) <= _KEY_MAX:
        return f"{indent}{quoted}:"
    return f"{indent}? {quoted}\n{indent}:"


FILL_STRATEGY, FILL_ENGINE, FILL_MASTER = "FILL-IN-STRATEGY", "FILL-IN-ENGINE", "FILL-IN-MASTER-SECRET-ARN"
# What discover's own check of the manifest writes in their place (generator.manifest.PLACEHOLDERS
# names them; validate rejects them until the user replaces them).
_LINE_BREAKS = {"\n": "\\n", "\r": "\\r", "\x85": "\\u0085", "\u2028": "\\u2028", "\u2029": "\\u2029"}


def comment_text(text: str) -> str:
    """``text`` made safe for the inside of one YAML comment line: every line break YAML knows
    (LF, CR, NEL U+0085, LS U+2028, PS U+2029; https://yaml.org/spec/1.2.2/#54-line-break-characters),
    every other control character and every invisible mark (:func:`generator.terminal.hidden`)
    and what YAML's character set leaves out is written as an escape, so that no string from
    the account ends the comment and becomes structure, or hides in it. Every comment line
    discover writes goes through here (:func:`comment`)."""
    if text.isprintable():
        return text
    return "".join(_LINE_BREAKS.get(ch) or (terminal.escape(ch) if ch != "\t" and (terminal.hidden(ch) or ch in _NOT_YAML) else ch) for ch in text)  # fmt: skip


def comment(indent: str, text: str) -> str:
    """One comment line (``indent`` and ``# ``, then ``text`` through :func:`comment_text`);
    ``indent`` may end a line of YAML (an inline comment). The only way discover writes one."""
    return f"{indent}# {comment_text(text)}"


@dataclass(frozen=True)
class Evidence:
    """What one secret's current value says (``--read-values``): its ``engine``, ``host`` and
    ``masterarn`` fields, or why it could not be read as a JSON object. Evidence is about its
    own secret: it never changes another secret's entry."""

    why: str = ""  # why the value was not read ('': it was)
    engine: str | None = None
    master: str | None = None
    host: str | None = None  # compared with the master's: replica_of_master (never written)


@dataclass
class Fn:
    arn: str
    key: str
    name: str
    engine: str | None = None  # None: FILL-IN-ENGINE (engine_why says why)
    strategy: str | None = None  # None: FILL-IN-STRATEGY (strategy_why says why)
    engine_why: str = ""  # where the engine came from, or why it is not known
    strategy_why: str = ""
    app: tuple[str, str] | None = None  # (application id, semantic version)
    stack: str | None = None
    role_arn: str | None = None
    subnets: list[str] = field(default_factory=list)
    groups: list[str] = field(default_factory=list)
    adopt: bool = False
    notes: list[str] = field(default_factory=list)
    missing: bool = False


@dataclass
class Sec:
    name: str
    arn: str
    function: str
    kms_key_arn: str | None
    schedule: dict[str, Any]
    master: bool = False  # a master_secret entry: master_arn, or FILL-IN-MASTER-SECRET-ARN when it is None
    master_arn: str | None = None
    master_why: str = ""  # where the master came from, or why it is FILL-IN
    master_from_value: bool = False  # read from the secret's value (listed in discover's summary)
    master_kms_key_arn: str | None = None
    notes: list[str] = field(default_factory=list)
    external_type: str | None = None  # a managed external secret: Secrets Manager rotates it with a partner
    metadata: list[tuple[str, str]] = field(default_factory=list)
    admin_kms_key_arn: str | None = None
    replica: tuple[str, str] | None = None  # replica_of_master: (field, identifier), from the values


class Discoverer:
    def __init__(self, aws_: Aws, *, read_values: bool = False):
        self.aws = aws_
        self.read_values = read_values
        self.memo = Memo()
        self.region = aws_.region
        self.partition = aws.partition_of(aws_.region)

    def key_arn(self, key_id: str | None) -> tuple[str | None, str | None]:
        """(customer managed key ARN or None, note)."""
        if not key_id:
            return None, None

        def fetch() -> dict[str, Any] | None:
            try:
                meta: dict[str, Any] = self.aws.call("kms", "DescribeKey", "describe_key", KeyId=key_id)["KeyMetadata"]
                return meta
            except NotFound:
                return None

        try:
            meta = self.memo.get(("key", key_id), fetch)
        except Denied as exc:
            if aws.parse_arn(key_id) and ":key/" in key_id:
                return key_id, f"not checked whether this key is customer managed: access denied to {exc.action}"
            return (
                None,
                f"its key {key_id} could not be resolved to a key ARN (access denied to {exc.action}); set kms_key_arn",
            )
        if meta is None:
            return key_id, "this key does not exist (any more)"
        if meta.get("KeyManager") == "AWS":
            return None, None
        return meta["Arn"], None

    def function(self, arn: str) -> dict[str, Any] | None:
        name = arn.split(":function:", 1)[1].split(":", 1)[0] if ":function:" in arn else arn

        def fetch() -> dict[str, Any] | None:
            try:
                return self.aws.call("lambda", "GetFunction", "get_function", FunctionName=name)
            except NotFound:
                return None

        got: dict[str, Any] | None = self.memo.get(("function", name), fetch)
        return got

    def run(self) -> tuple[str, str]:
        ident = self.aws.call("sts", "GetCallerIdentity", "get_caller_identity")
        account = ident["Account"]
        listed = self.aws.pages(
            "secretsmanager", "ListSecrets", "list_secrets", "SecretList", PaginationConfig={"PageSize": 100}
        )
        # A secret another service owns (OwningService) is rotated by that service, not by a function here.
        managed = {s["Name"]: s["OwningService"] for s in listed if s.get("OwningService")}
        rotated = [
            s for s in listed if s.get("RotationEnabled") and s.get("RotationLambdaARN") and s["Name"] not in managed
        ]
        # Managed rotation: the entry is managed: true, with the schedule (the module sets only that).
        service_rotated = sorted(
            (s for s in listed if s["Name"] in managed and s.get("RotationEnabled")), key=lambda s: s["Name"]
        )
        # Managed external secrets: a type and a rotation role, no Lambda function.
        external_rotated = sorted(
            (
                s
                for s in listed
                if s.get("RotationEnabled")
                and s.get("Type")
                and s.get("ExternalSecretRotationRoleArn")
                and not s.get("RotationLambdaARN")
                and s["Name"] not in managed
            ),
            key=lambda s: s["Name"],
        )
        others = sorted(
            s["Name"] for s in listed if s not in rotated and s not in service_rotated and s not in external_rotated
        )
        by_arn = {s["ARN"]: s for s in listed}

        fn_arns = sorted({s["RotationLambdaARN"] for s in rotated})
        confs = dict(zip(fn_arns, self.aws.map(self._function_or_error, fn_arns), strict=True))
        fns = self._functions(fn_arns, confs, account)
        evidence: dict[str, Evidence] = {}
        if self.read_values:
            arns = [s["ARN"] for s in rotated]
            evidence = dict(zip(arns, self.aws.map(self._evidence, arns), strict=True))
        by_name = {s["Name"]: s for s in listed}

        secrets: list[Sec] = []
        for fn_arn, fn in fns.items():
            mine = sorted((s for s in rotated if s["RotationLambdaARN"] == fn_arn), key=lambda s: s["Name"])
            self._decide(fn, [(s["Name"], evidence.get(s["ARN"])) for s in mine])
        for s in sorted(rotated, key=lambda s: s["Name"]):
            fn = fns[s["RotationLambdaARN"]]
            key, note = self.key_arn(s.get("KmsKeyId"))
            sec = Sec(s["Name"], s["ARN"], fn.key, key, _schedule(s.get("RotationRules") or {}))
            if note:
                sec.notes.append(note)
            if s["RotationLambdaARN"] != fn.arn:
                sec.notes.append(f"rotation names {s['RotationLambdaARN']}")
            self._master_of(sec, fn, evidence.get(s["ARN"]), account, by_arn, by_name)
            secrets.append(sec)
        if self.read_values:
            self._replicas(secrets, fns, evidence)
        for s in service_rotated:
            secrets.append(Sec(s["Name"], s["ARN"], "", None, _schedule(s.get("RotationRules") or {}),
                               notes=[f"rotated by {s['OwningService']} (managed rotation): the module sets its schedule only"]))  # fmt: skip
        for s in external_rotated:
            key, note = self.key_arn(s.get("KmsKeyId"))
            sec = Sec(s["Name"], s["ARN"], "", key, _schedule(s.get("RotationRules") or {}), external_type=s["Type"])
            sec.metadata = sorted(
                (i.get("Key", ""), i.get("Value", "")) for i in s.get("ExternalSecretRotationMetadata") or []
            )
            if note:
                sec.notes.append(note)
            sec.notes.append(f"rotated by Secrets Manager with its partner as {s['ExternalSecretRotationRoleArn']}; the module "
                             "creates its own least-privilege role for the manifest's external secrets and the rotation "
                             "switches to it on apply (delete the old role afterwards)")  # fmt: skip
            admin = dict(sec.metadata).get("adminSecretArn")
            if admin and admin in by_arn:
                sec.admin_kms_key_arn, anote = self.key_arn(by_arn[admin].get("KmsKeyId"))
                if anote:
                    sec.notes.append(f"admin secret: {anote}")
            secrets.append(sec)
        secrets.sort(key=lambda sec: sec.name)
        if not secrets:
            raise NothingToWrite(f"no secret in account {account}, region {self.region} rotates ({len(listed)} secret(s) listed, "
                                 f"{self.aws.total_calls} API calls); nothing to write")  # fmt: skip
        dropped: dict[tuple[str, str], str] = {}
        for _ in range(5):  # bounded: each round leaves out at least one more entry
            checked = self._render(account, fns, secrets, others, managed, dropped, check=True)
            new = {k: v for k, v in self._problems(checked).items() if k not in dropped}
            if not new:
                break
            dropped.update(new)
            gone_fns = {k for (section, k) in dropped if section == "functions"}
            if all((("secrets", sec.name) in dropped) or sec.function in gone_fns for sec in secrets):
                raise CannotWrite(
                    "no rotated secret gives a valid entry: "
                    + "; ".join(f"{k[0]}.{k[1]}: {v}" for k, v in sorted(dropped.items()))
                )
        text = self._render(account, fns, secrets, others, managed, dropped)
        summary = (f"discover: {len(secrets)} rotated secret(s) ({len(service_rotated)} by their own service, "
                   f"{len(external_rotated)} managed external), {len(fns)} function(s), {len(others)} secret(s) without rotation; "
                   f"{self.aws.total_calls} API calls; " + ("values read for engine, host and masterarn only" if self.read_values else "no secret value read"))  # fmt: skip
        return text, "\n".join([summary, *self._summary(fns, secrets, dropped)])

    def _summary(self, fns: dict[str, Fn], secrets: list[Sec], dropped: dict[tuple[str, str], str]) -> list[str]:
        """What a reviewer must see: every grant that came from a secret's value, and every
        FILL-IN placeholder left to replace (validate rejects the manifest until then)."""
        gone_fns = {k for (section, k) in dropped if section == "functions"}
        live = [f for f in sorted(fns.values(), key=lambda f: f.key) if f.key not in gone_fns]
        kept = [x for x in secrets if ("secrets", x.name) not in dropped and x.function not in gone_fns]
        fns_used = {x.function for x in kept}
        live = [f for f in live if f.key in fns_used]
        from_values = [
            f"  functions.{f.key}.{what}: {value} ({why})"
            for f in live
            for what, value, why in (("strategy", f.strategy, f.strategy_why), ("engine", f.engine, f.engine_why))
            if value is not None and why.startswith(_FROM_VALUES)
        ]
        from_values += [
            f"  secrets.{json.dumps(x.name)}.master_secret.arn: {x.master_arn} (masterarn in its own value): "
            f"function {x.function}'s role may read it (secretsmanager:GetSecretValue)"
            for x in kept
            if x.master_from_value
        ]
        from_values += [
            f"  secrets.{json.dumps(x.name)}.replica_of_master.{x.replica[0]}: {x.replica[1]} (its value's host is "
            f"not its master's): function {x.function}'s role may describe it"
            for x in kept
            if x.replica
        ]
        fill = [
            f"functions.{f.key}.{what}"
            for f in live
            for what, v in (("strategy", f.strategy), ("engine", f.engine))
            if v is None
        ]
        fill += [f"secrets.{json.dumps(x.name)}.master_secret.arn" for x in kept if x.master and x.master_arn is None]
        lines = []
        if from_values:
            lines.append(
                f"grants chosen by secret values (--read-values): {len(from_values)}; review each before apply:"
            )
            lines += [comment_text(line) for line in from_values]
        if fill:
            shown = ", ".join(fill[:10]) + (f" and {len(fill) - 10} more" if len(fill) > 10 else "")
            hint = "" if self.read_values else "; rotation-tf discover --read-values fills what the secrets' values say"
            lines.append(
                comment_text(
                    f"FILL-IN placeholders to replace (validate rejects them; the comment above each says why): {shown}{hint}"
                )
            )
        return lines

    # ---- evidence: what each secret's own value says, and what it may decide ------------------
    def _evidence(self, arn: str) -> Evidence:
        """The ``engine`` and ``masterarn`` of one secret's current value (nothing else leaves
        :func:`current_value_fields`), or why it could not be read. A transport failure is not
        caught: it ends the run (exit 3), never a verdict on the value."""
        try:
            shape = current_value_fields(self.aws, arn, ("engine", "masterarn", "host"))
        except Denied as exc:
            return Evidence(f"access denied to {exc.action}")
        except LiveError as exc:
            return Evidence(f"it could not be read: {exc}")
        if shape.keys is None:
            return Evidence(shape.why)
        return Evidence(
            "",
            shape.fields.get("engine"),
            shape.fields.get("masterarn") or ("" if "masterarn" in shape.keys else None),
            shape.fields.get("host"),
        )

    def _master_fields(self, arn: str) -> tuple[str | None, str | None]:
        """(host, engine) of a master secret's current value, read once per master."""

        def fetch() -> tuple[str | None, str | None]:
            try:
                shape = current_value_fields(self.aws, arn, ("host", "engine"))
            except LiveError:
                return None, None
            return shape.fields.get("host"), shape.fields.get("engine")

        got: tuple[str | None, str | None] = self.memo.get(("master-value", arn), fetch)
        return got

    def _replicas(self, secrets: list[Sec], fns: dict[str, Fn], evidence: dict[str, Evidence]) -> None:
        """``replica_of_master`` for a secret whose host is not its master's, as AWS's function
        will look it up (is_rds_replica_database): the read replica, the host's first label;
        for an Aurora master (engine aurora-*) the cluster, its endpoint's first label."""
        from generator.live.checks.replica import is_cluster_endpoint, label

        by_key = {f.key: f for f in fns.values()}
        for sec in secrets:
            ev = evidence.get(sec.arn)
            host = ev.host if ev is not None and not ev.why else None
            if not sec.master_arn or not host or sec.function not in by_key:
                continue
            fn = by_key[sec.function]
            if fn.engine is None or fn.strategy is None:  # FILL-IN: which replica paths it has is not known
                continue
            master_host, master_engine = self._master_fields(sec.master_arn)
            if not master_host:
                if aws_calls.master_kind(aws.secret_name(sec.master_arn)) in aws_calls.RDS_MANAGED_KINDS:
                    sec.notes.append("its master is RDS-managed (its host is its database's): whether the secret's host "
                                     "is a replica is not read here; doctor --read-values checks it")  # fmt: skip
                continue
            if host == master_host:
                continue
            supported = aws_calls.REPLICA_PATHS.get(aws_calls.function_for(fn.engine, fn.strategy), ())
            aurora = (master_engine or "").startswith("aurora")
            if aurora and aws_calls.REPLICA_CLUSTER in supported and is_cluster_endpoint(master_host):
                kind, ident = aws_calls.REPLICA_CLUSTER, label(master_host)
            elif not aurora and aws_calls.REPLICA_INSTANCE in supported:
                kind, ident = aws_calls.REPLICA_INSTANCE, label(host)
            else:
                sec.notes.append("its value's host is not its master secret's, and AWS's function for this engine and "
                                 "strategy accepts no such replica: rotation fails until they share a host")  # fmt: skip
                continue
            if not _RDS_ID.match(ident):
                sec.notes.append("its value's host is not its master secret's; set replica_of_master if it is a read "
                                 "replica or an Aurora reader (its identifier could not be read from the host)")  # fmt: skip
                continue
            sec.replica = (kind, ident)
            sec.notes.append("replica_of_master: its value's host is not its master secret's (--read-values); AWS's "
                             "function asks RDS whether it is " + ("an Aurora reader of the master's cluster" if aurora
                             else "a read replica of the master's instance"))  # fmt: skip

    def _decide(self, fn: Fn, values: list[tuple[str, Evidence | None]]) -> None:
        """The function's engine and strategy where AWS's application tags did not say: from
        its secrets' values only when every one of them was read and they agree; otherwise
        FILL-IN, with the evidence. One secret's value never decides for its siblings."""
        n = len(values)
        unread = [(name, ev.why if ev is not None else "") for name, ev in values if ev is None or ev.why]
        read = [(name, ev) for name, ev in values if ev is not None and not ev.why]
        if fn.engine is None:
            if not self.read_values:
                fn.engine_why = f"no value read: the engine in its secrets' values ({_NO_VALUES})"
            else:
                said_engine: dict[str, list[str]] = {}
                for name, ev in read:
                    said_engine.setdefault(str(engine_of_value(ev.engine or "") or "no known engine"), []).append(name)
                if not unread and len(said_engine) == 1 and "no known engine" not in said_engine:
                    fn.engine = next(iter(said_engine))
                    fn.engine_why = f"{_of_all(n)} says {fn.engine}"
                else:
                    said = [f"{engine}: {_names(names)}" for engine, names in sorted(said_engine.items())]
                    head = "not every value could be read" if unread else "the values do not agree on one engine"
                    fn.engine_why = f"{head}: " + "; ".join(said + _unread(unread))
        if fn.strategy is None:
            if not self.read_values:
                fn.strategy_why = (
                    f"no value read: alternating_users if its secrets' values hold masterarn ({_NO_VALUES})"
                )
                return
            alternating = [name for name, ev in read if ev.master is not None]
            single = [name for name, ev in read if ev.master is None]
            if not unread and alternating and not single:
                fn.strategy = "alternating_users"
                fn.strategy_why = f"{_of_all(n)} names a masterarn"
            elif not unread and single and not alternating:
                fn.strategy = "single_user"
                fn.strategy_why = f"{_of_all(n)} names no masterarn"
            else:
                said = ([f"{len(alternating)} of {n} name a masterarn ({_names(alternating)})"] if alternating else []) + (
                    [f"{len(single)} of {n} do not ({_names(single)})"] if single else [])  # fmt: skip
                head = "not every value could be read" if unread else "the values do not agree"
                fn.strategy_why = f"{head}: " + "; ".join(said + _unread(unread))

    def _master_of(self, sec: Sec, fn: Fn, ev: Evidence | None, account: str, by_arn: dict[str, Any],
                   by_name: dict[str, Any]) -> None:  # fmt: skip
        """The secret's master_secret, from its own value only. A masterarn becomes a grant
        only when it is a secret of this account and region that discover listed; otherwise
        FILL-IN with the reason. Written where the function reads a master (alternating users,
        Db2 single user), or where the strategy is FILL-IN and this value names one."""
        if fn.strategy is None:
            needed = ev is not None and not ev.why and ev.master is not None
        else:
            needed = aws_calls.reads_master(fn.engine or engines.OTHER, fn.strategy)
            if not needed and ev is not None and ev.master and fn.app:
                sec.notes.append(
                    "its value names a masterarn, but the function is AWS's single-user application: not used"
                )
        if not needed:
            return
        sec.master = True
        if ev is None:
            sec.master_why = f"no value read: the masterarn in this secret's value ({_NO_VALUES})"
            return
        if ev.why:
            sec.master_why = f"its value could not be read ({ev.why}): set the ARN of its master secret"
            return
        if ev.master is None:
            sec.master_why = "its value names no masterarn: set the ARN of the secret holding its master (admin) user"
            return
        if not ev.master:
            sec.master_why = "its value's masterarn is empty or not text: set the ARN of its master secret"
            return
        text = ev.master
        listed = by_arn.get(text) or (by_name.get(text) if not text.startswith("arn:") else None)
        if listed is None:
            sec.master_why = self._foreign(text, account)
            return
        sec.master_arn = listed["ARN"]
        sec.master_from_value = True
        sec.master_why = (f"{_FROM_VALUES}: masterarn in this secret's own value names secret {listed['Name']} of account "
                          f"{account}, {self.region}, which discover listed; review it: the function's role may read it")  # fmt: skip
        sec.master_kms_key_arn, mnote = self.key_arn(listed.get("KmsKeyId"))
        if mnote:
            sec.notes.append(f"master secret: {mnote}")

    def _foreign(self, text: str, account: str) -> str:
        """Why a masterarn from a value is not written as a grant (FILL-IN)."""
        parsed = aws.parse_arn(text)
        if parsed is None or parsed.service != "secretsmanager" or not parsed.resource.startswith("secret:"):
            return "its value's masterarn is not the ARN of a secret: set the ARN of its master secret"
        if (parsed.partition, parsed.region, parsed.account) != (self.partition, self.region, account):
            return (f"its value's masterarn names a secret of account {parsed.account or '(none)'}, region "
                    f"{parsed.region or '(none)'}, not this account and region ({account}, {self.region}): discover "
                    "writes a master read from a value only when it is a secret it listed here; set it if you mean it")  # fmt: skip
        name = aws.secret_name(text) or parsed.resource.removeprefix("secret:")
        return (f"its value's masterarn names secret {name[:200]!r}, which discover did not list in account {account}, "
                f"{self.region} (deleted, or not visible to the caller): set the ARN of its master secret")  # fmt: skip

    def _function_or_error(self, arn: str) -> dict[str, Any] | LiveError | None:
        try:
            return self.function(arn)
        except LiveError as exc:
            if isinstance(exc, Denied):
                return exc
            raise

    def _functions(self, arns: list[str], confs: dict[str, Any], account: str) -> dict[str, Fn]:
        out: dict[str, Fn] = {}
        used: set[str] = set()
        names = {a.split(":function:", 1)[-1].split(":", 1)[0] for a in arns}
        for arn in arns:
            name = arn.split(":function:", 1)[-1].split(":", 1)[0]
            got = confs[arn]
            unqualified = arn.split(":function:", 1)[0] + ":function:" + name if ":function:" in arn else arn
            fn = Fn(unqualified, "", name)
            if isinstance(got, Denied):
                fn.notes.append(
                    f"could not read the function (access denied to {got.action}): engine, strategy and VPC unknown"
                )
            elif got is None:
                fn.missing = True
                fn.notes.append("the rotation function does not exist; rotation of these secrets fails")
            else:
                conf = got["Configuration"]
                tags = got.get("Tags") or {}
                fn.role_arn = conf.get("Role")
                vpc = conf.get("VpcConfig") or {}
                fn.subnets = sorted(vpc.get("SubnetIds") or [])
                fn.groups = sorted(vpc.get("SecurityGroupIds") or [])
                m = _APP_RE.search(tags.get("serverlessrepo:applicationId", ""))
                if m and m.group("engine") in _ENGINE_BY_APP:
                    fn.engine = _ENGINE_BY_APP[m.group("engine")]
                    fn.strategy = "single_user" if m.group("scheme") == "SingleUser" else "alternating_users"
                    fn.app = (tags["serverlessrepo:applicationId"], tags.get("serverlessrepo:semanticVersion", ""))
                    fn.stack = tags.get("aws:cloudformation:stack-name")
            fn.key = _unique_key(_function_key(fn), used, names if fn.app else set())
            used.add(fn.key)
            if fn.app is None and not fn.missing and not isinstance(got, Denied):
                fn.adopt = self._adoptable(fn)
            out[arn] = fn
        return out

    def _adoptable(self, fn: Fn) -> bool:
        """Whether the permission and the inline policy on the function's own role that
        ``import: true`` adopts already exist (they do when rotation-tf made them before);
        importing what does not exist fails."""
        from generator.naming import Names, region_tag

        # discover writes no name_prefix and no roles: (region_in_names keeps its default, on)
        names = Names("", fn.key, region_tag(self.region))
        sid = names.statement_id
        try:
            raw = self.aws.call("lambda", "GetPolicy", "get_policy", FunctionName=fn.name)["Policy"]
            sids = {s.get("Sid") for s in json.loads(raw).get("Statement", [])}
        except NotFound:
            sids = set()
        except LiveError:
            return False
        role = (fn.role_arn or "").rsplit("/", 1)[-1]
        if sid not in sids or not role:
            return False
        try:
            policies = set(
                self.aws.pages("iam", "ListRolePolicies", "list_role_policies", "PolicyNames", RoleName=role)
            )
        except LiveError:
            return False
        return names.policy_on_existing_role in policies

    # ---- output -------------------------------------------------------------------------
    def _render(self, account: str, fns: dict[str, Fn], secrets: list[Sec], others: list[str], managed: dict[str, str | None],
                dropped: dict[tuple[str, str], str] | None = None, *, check: bool = False) -> str:  # fmt: skip
        """The manifest. ``check``: the text discover validates instead, each FILL-IN placeholder
        replaced by a value that lets the rest of its entry be judged (a function whose strategy
        is FILL-IN as single_user, its secrets without the master_secret a value named), so
        that an entry is left out only for what is wrong with it, never for a placeholder."""
        dropped = dropped or {}
        fill_master = f"arn:{self.partition}:secretsmanager:{self.region}:{account}:secret:example-master-AbCdEf"
        lines = [
            comment("", f"Discovered by rotation-tf {__version__} in account {account}, region {self.region}."),
            comment("", "Every secret is marked import: true: `rotation-tf generate` then `rotation-tf imports` adopt"),
            comment("", "the existing rotation; `terraform plan` shows what changes (see the comments)."),
            comment("", "Secret values were read (--read-values) for engine, host and masterarn only." if self.read_values
                    else "No secret value was read: fields that need one are FILL-IN placeholders (--read-values)."),
            "version: 1",
            f"account_id: {yq(account)}",
            f"region: {self.region}",
        ]  # fmt: skip
        gone_fns = {k for (section, k) in dropped if section == "functions"}
        gone = {k for (section, k) in dropped if section == "secrets"} | {
            s.name for s in secrets if s.function in gone_fns
        }
        live_fns = [f for f in sorted(fns.values(), key=lambda f: f.key)
                    if f.key not in gone_fns and any(s.function == f.key for s in secrets if s.name not in gone)]  # fmt: skip
        if live_fns:  # a manifest whose secrets are all managed: true has no functions
            lines += ["", "functions:"]
        for fn in live_fns:
            lines.append(key_line("  ", fn.key))
            for note in fn.notes:
                lines.append(comment("    ", note))
            if fn.app:
                app_id, version = fn.app
                lines.append(comment("    ", f"AWS's rotation application {app_id.rsplit('/', 1)[-1]} {version}"
                                     + (f" (stack {fn.stack})" if fn.stack else "") + f", function {fn.name}."))  # fmt: skip
                lines.append(comment("    ", f"rotation-tf deploys its own stack for this entry (function {fn.key}); on apply the secrets'"))  # fmt: skip
                lines.append(comment("    ", f"rotations switch to it. Delete the old stack afterwards. To keep {fn.name} instead, replace"))  # fmt: skip
                lines.append(comment("    ", f"rotation_app with existing_function_arn: {fn.arn}"))
            if fn.strategy_why:
                lines.append(comment("    ", f"strategy: {fn.strategy_why}"))
            lines.append(f"    strategy: {fn.strategy or ('single_user' if check else FILL_STRATEGY)}")
            if fn.engine_why:
                lines.append(comment("    ", f"engine: {fn.engine_why}"))
            # checked with its strategy FILL-IN: as postgresql single_user, which needs no master
            # (Db2 single user would: the rest of the entry is what is judged)
            engine = fn.engine if fn.engine and not (check and fn.strategy is None) else None
            lines.append(f"    engine: {engine or ('postgresql' if check else FILL_ENGINE)}")
            if fn.app:
                lines.append("    rotation_app:")
                lines.append(f"      semantic_version: {yq(fn.app[1])}" if fn.app[1] else "      {}")
            else:
                lines.append(f"    existing_function_arn: {yq(fn.arn)}")
                if fn.role_arn:  # GetFunction's Configuration.Role
                    lines.append(comment("    ", "the role it runs as: the module adds its own inline policy to it and manages nothing"))  # fmt: skip
                    lines.append(comment("    ", "else of it (trust policy, other policies); the plan fails if the function's role changes"))  # fmt: skip
                    lines.append(f"    execution_role_arn: {yq(fn.role_arn)}")
            if fn.subnets and fn.groups:
                lines.append("    vpc:")
                lines.append(f"      subnet_ids: [{', '.join(yq(s) for s in fn.subnets)}]")
                lines.append(f"      security_group_ids: [{', '.join(yq(g) for g in fn.groups)}]")
            if not fn.app:
                role = fn.role_arn.rsplit("/", 1)[-1] if fn.role_arn else "the role the function runs as"
                if fn.adopt:
                    lines.append(comment("    import: true  ", f"the module's policy on {role} and its permission exist: adopt them"))  # fmt: skip
                else:
                    lines.append(comment("    import: false  ", "nothing of the module's exists yet: apply adds its least-privilege inline"))  # fmt: skip
                    lines.append(comment("    ", f"               policy to {role} and its own permission (with aws:SourceAccount)"))  # fmt: skip
        lines += ["", "secrets:"]
        for sec in secrets:
            if sec.name in gone:
                continue
            lines.append(key_line("  ", sec.name))
            for note in sec.notes:
                lines.append(comment("    ", note))
            if sec.function:
                lines.append(f"    function: {yq(sec.function)}")
            elif sec.external_type:
                lines.append("    external:")
                lines.append(f"      type: {yq(sec.external_type)}")
                if sec.metadata:
                    lines.append("      metadata:")
                    lines += [f"{key_line('        ', k)} {yq(v)}" for k, v in sec.metadata]
                if sec.admin_kms_key_arn:
                    lines.append(f"      admin_kms_key_arn: {yq(sec.admin_kms_key_arn)}")
            else:
                lines.append("    managed: true")
            lines.append(f"    arn: {yq(sec.arn)}")
            if sec.kms_key_arn:
                lines.append(f"    kms_key_arn: {yq(sec.kms_key_arn)}")
            fn_of = next((f for f in fns.values() if f.key == sec.function), None)
            if sec.master and not (check and fn_of is not None and fn_of.strategy is None):
                lines.append("    master_secret:")
                if sec.master_why:
                    lines.append(comment("      ", sec.master_why))
                placeholder = fill_master if check else FILL_MASTER
                lines.append(f"      arn: {yq(sec.master_arn) if sec.master_arn else placeholder}")
                if sec.master_kms_key_arn:
                    lines.append(f"      kms_key_arn: {yq(sec.master_kms_key_arn)}")
            if sec.replica:
                lines.append("    replica_of_master:")
                lines.append(f"      {sec.replica[0]}: {yq(sec.replica[1])}")
            lines.append("    schedule:")
            for k, v in sec.schedule.items():  # noqa: B007
                lines.append(f"      {k}: {yq(v)}")
            lines.append("    import: true")
        if dropped:
            lines += ["", comment("", "Left out, because the entry would not validate (with a function, its secrets too):")]  # fmt: skip
            lines += [comment("", f"  {section}.{n}: {why}") for (section, n), why in sorted(dropped.items())]
        if others:
            lines += ["", comment("", "Secrets without rotation (left out):")]
            lines += [
                comment("", f"  {n}" + (f" (owned by {managed[n]}, rotation off)" if managed.get(n) else "")) for n in others
            ]  # fmt: skip
        return "\n".join(lines) + "\n"

    def _problems(self, text: str) -> dict[tuple[str, str], str]:
        """{(section, key): message} of every entry rotation-tf's validation rejects."""
        from generator import api, source
        from generator.errors import Failed

        try:
            api.load(source.load_text(text, "discovered.yaml"))
        except Failed as exc:
            out = {(str(d.path[0]), str(d.path[1])): d.message for d in exc.diagnostics
                   if len(d.path) >= 2 and d.path[0] in ("secrets", "functions")}  # fmt: skip
            if not out:  # not an entry's fault: what discover generated is broken
                raise CannotWrite("; ".join(d.render() for d in exc.diagnostics)) from None
            return out
        return {}


class NothingToWrite(Exception):
    """Nothing rotates in the account and region: there is no manifest to write (exit 0)."""


class CannotWrite(Exception):
    """discover's own error: what it generated does not validate, or no rotated secret gives a
    valid entry; nothing is written (exit 4, with the reason)."""


def _schedule(rules: dict[str, Any]) -> dict[str, Any]:
    days = rules.get("AutomaticallyAfterDays")
    expr = " ".join(str(rules.get("ScheduleExpression") or "").split())
    out: dict[str, Any] = {}
    m = re.fullmatch(r"rate\((\d+) days?\)", expr)
    if expr and not (m and days == int(m.group(1))):
        out["expression"] = expr
    elif days:
        out["every_days"] = int(days)
    elif m:
        out["every_days"] = int(m.group(1))
    duration = rules.get("Duration")
    if duration and _WINDOW_RE.match(str(duration)):
        out["window"] = str(duration)
    return out


def _function_key(fn: Fn) -> str:
    """The manifest key of a function: its name with every character a key cannot hold as
    ``-``, ``f-`` in front when it would not start with an ASCII letter or is an HCL keyword
    (``null``, ``true``: a key names Terraform resources, naming.function_key_problem), at most
    64 characters. Safe by construction, whatever the account calls its function."""
    from generator.hcl import KEYWORDS

    if fn.app:
        base = f"{fn.engine}-{'single' if fn.strategy == 'single_user' else 'alternating'}"
    else:
        base = _KEY_RE.sub("-", fn.name)
    if not ("a" <= base[:1].lower() <= "z") or base in KEYWORDS:
        base = "f-" + base
    return base[:64]


def _unique_key(base: str, used: set[str], taken_names: set[str]) -> str:
    key, n = base, 1
    while key in used or key in taken_names:  # bounded by the number of functions
        n += 1
        key = f"{base[:60]}-{n}"
    return key


_RDS_ID = re.compile(r"^[A-Za-z][A-Za-z0-9-]{0,62}$")  # manifest.RDS_IDENTIFIER_PATTERN
_FROM_VALUES = "from the values"  # how a fact taken from secrets' values is introduced (discover's summary lists them)
_NO_VALUES = "rotation-tf discover --read-values reads them, or set it"


def _of_all(n: int) -> str:
    """How a fact that every value of a function's secrets agrees on is introduced."""
    return f"{_FROM_VALUES}: its one secret's value" if n == 1 else f"{_FROM_VALUES}: each of its {n} secrets' values"


def _names(names: list[str], shown: int = 3) -> str:
    """Some secret names, and how many more (the comment stays one readable line)."""
    head = ", ".join(names[:shown])
    return head + (f" and {len(names) - shown} more" if len(names) > shown else "")


def _unread(unread: list[tuple[str, str]]) -> list[str]:
    if not unread:
        return []
    whys = sorted({why for _name, why in unread if why})
    return [
        f"{len(unread)} not read ({_names([name for name, _ in unread])}"
        + (f": {'; '.join(whys[:2])}" if whys else "")
        + ")"
    ]
