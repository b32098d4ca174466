"""``rotation-tf init``: a commented starter manifest that validates once its placeholders
(manifest.PLACEHOLDERS: the account id without --account-id, the function's name, the
secret's name, the master secret's name) are filled in; until then validate names each.

The text comes from ``templates/init/manifest.yaml.j2`` through the one Jinja environment.
The file is written next to its target, validated through the normal pipeline, and only
then linked into place; ``os.link`` fails when the target exists, so an existing file is
never overwritten, even by a concurrent run.

The starter's first line names :data:`SCHEMA_FILE` for yaml-language-server, so init writes
that file (``rotation-tf schema``) beside the manifest when it is not there, the same way:
an existing one, however old, is never overwritten; init says when it differs.
"""

from __future__ import annotations

import os
import re
import tempfile
from pathlib import Path as FsPath

from generator import aws, aws_calls
from generator.errors import Diagnostic, Failed
from generator.manifest import ACCOUNT_PLACEHOLDER, MODULE_PATTERN, PLACEHOLDERS

ACCOUNT_RE = re.compile(r"^[0-9]{12}$")
SCHEMA_FILE = "rotation-tf.schema.json"
"""The JSON Schema file the starter's first line points at, beside the manifest."""


def function_key(engine: str, strategy: str) -> str:
    return f"{engine}-{ {'single_user': 'single', 'alternating_users': 'alt'}[strategy] }"


def to_fill(engine: str, strategy: str, account_id: str | None) -> list[str]:
    """The fields of the starter that hold a placeholder, as init's last line names them."""
    fields = ["account_id"] if account_id is None else []
    fields += [f"functions.{function_key(engine, strategy)}.existing_function_arn", "the secret's name under secrets"]
    if aws_calls.reads_master(engine, strategy):
        fields.append("its master_secret.name")
    return fields


def text(path: FsPath, *, engine: str, strategy: str, account_id: str | None, region: str) -> str:
    """The starter's text; without ``account_id`` it holds the placeholder, which fails validate."""
    from generator.render import environment

    problems = []
    if account_id is not None and not ACCOUNT_RE.match(account_id):
        problems.append(
            Diagnostic(str(path), None, None, ("account_id",), f"{account_id!r} must be the 12-digit AWS account id")
        )
    if region not in aws.REGIONS:
        problems.append(Diagnostic(str(path), None, None, ("region",), aws.not_a_region(region)))
    if not re.match(MODULE_PATTERN, path.stem):
        problems.append(
            Diagnostic(
                str(path),
                None,
                None,
                (),
                f"the file name gives the module name {path.stem!r}; use 1-64 letters, digits, '-' or '_'",
            )
        )
    if problems:
        raise Failed(problems)
    return (
        environment()
        .get_template("init/manifest.yaml.j2")
        .render(
            filename=path.name,
            module=path.stem,
            engine=engine,
            strategy=strategy,
            account_id=account_id or ACCOUNT_PLACEHOLDER,
            region=region,
            partition=aws.partition_of(region),
            function=function_key(engine, strategy),
            schema_file=SCHEMA_FILE,
            needs_master=aws_calls.reads_master(engine, strategy),
        )
    )


def write(path: FsPath, *, engine: str, strategy: str, account_id: str | None, region: str) -> str:
    """Write the starter manifest to ``path``; raise :class:`Failed` if it exists or is invalid.
    Then write :data:`SCHEMA_FILE` beside it unless it exists; return what became of that
    file (:func:`write_schema`).

    Every value init cannot know (the account without ``account_id``: :data:`ACCOUNT_PLACEHOLDER`)
    is a placeholder, so that the file cannot validate (nor generate) until the user fills
    it in; everything else in it is checked here with the placeholders' examples in place."""
    from generator import api, source

    if os.path.lexists(path):
        raise Failed(
            [Diagnostic(str(path), None, None, (), "already exists; rotation-tf init never overwrites a file")]
        )
    body = text(path, engine=engine, strategy=strategy, account_id=account_id, region=region)
    folder = path.parent if str(path.parent) else FsPath(".")
    if not folder.is_dir():
        raise Failed([Diagnostic(str(folder), None, None, (), "the folder does not exist")])
    fd, tmp = tempfile.mkstemp(prefix="rotation-tf-init-", suffix=path.suffix or ".yaml", dir=folder)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as fh:
            fh.write(body)
        os.chmod(tmp, 0o644)
        # Once its placeholders are filled in, the starter must pass the same validation as
        # any manifest (its module name comes from the target's file name, so validate under
        # that name, in its folder); here they are filled with examples.
        filled = body
        for placeholder, (_what, example) in PLACEHOLDERS.items():
            filled = filled.replace(placeholder, example)
        api.load(source.load_text(filled, str(path), folder, path.name))  # raises Failed
        try:
            os.link(tmp, path)
        except FileExistsError:
            raise Failed(
                [Diagnostic(str(path), None, None, (), "already exists; rotation-tf init never overwrites a file")]
            ) from None
    finally:
        os.unlink(tmp)
    return write_schema(folder / SCHEMA_FILE)


def write_schema(target: FsPath) -> str:
    """Write the manifest's JSON Schema to ``target`` unless something is there already.
    Returns ``"written"``, ``"current"`` (the file there is this version's schema),
    ``"differs"`` (kept as it is: init never overwrites) or ``"failed: <reason>"`` (the
    manifest is written; the schema is a convenience, so this is not an error)."""
    from generator import schema

    body = schema.dumps()
    try:
        fd, tmp = tempfile.mkstemp(prefix="rotation-tf-init-", suffix=".json", dir=target.parent)
    except OSError as exc:
        return f"failed: {exc.strerror or exc}"
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as fh:
            fh.write(body)
        os.chmod(tmp, 0o644)
        os.link(tmp, target)
        return "written"
    except FileExistsError:
        try:
            same = target.read_text(encoding="utf-8") == body
        except (OSError, UnicodeDecodeError):
            same = False
        return "current" if same else "differs"
    except OSError as exc:
        return f"failed: {exc.strerror or exc}"
    finally:
        os.unlink(tmp)
