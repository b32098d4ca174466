"""``rotation-tf init``: a commented starter manifest that validates as written.

The text comes from ``templates/init/manifest.yaml.j2`` through the one Jinja environment.
The file is written next to its target, validated through the normal pipeline, and only
then linked into place; ``os.link`` fails when the target exists, so an existing file is
never overwritten, even by a concurrent run.
"""

from __future__ import annotations

import os
import re
import tempfile
from pathlib import Path as FsPath

from generator import aws
from generator.errors import Diagnostic, Failed
from generator.manifest import MODULE_PATTERN

REGION_RE = re.compile(r"^[a-z]{2}(-[a-z]+)+-[0-9]+$")
ACCOUNT_RE = re.compile(r"^[0-9]{12}$")
EXAMPLE_ACCOUNT = "111122223333"


def text(path: FsPath, *, engine: str, strategy: str, account_id: str, region: str) -> str:
    from generator.render import environment

    problems = []
    if not ACCOUNT_RE.match(account_id):
        problems.append(Diagnostic(str(path), None, None, ("account_id",), f"{account_id!r} must be the 12-digit AWS account id"))
    if not REGION_RE.match(region) or region not in aws.REGIONS:
        problems.append(Diagnostic(str(path), None, None, ("region",), f"{region!r} is not an AWS region such as us-east-1"))
    if not re.match(MODULE_PATTERN, path.stem):
        problems.append(
            Diagnostic(str(path), None, None, (), f"the file name gives the module name {path.stem!r}; use 1-64 letters, digits, '-' or '_'")
        )
    if problems:
        raise Failed(problems)
    prefix = {"single_user": "single", "alternating_users": "alt"}[strategy]
    return environment().get_template("init/manifest.yaml.j2").render(
        filename=path.name,
        module=path.stem,
        engine=engine,
        strategy=strategy,
        account_id=account_id,
        region=region,
        partition=aws.partition_of(region),
        function=f"{engine}-{prefix}",
        secret=f"prod/{engine}/app",
    )


def write(path: FsPath, *, engine: str, strategy: str, account_id: str, region: str) -> None:
    """Write the starter manifest to ``path``; raise :class:`Failed` if it exists or is invalid."""
    from generator import model

    if os.path.lexists(path):
        raise Failed([Diagnostic(str(path), None, None, (), "already exists; rotation-tf init never overwrites a file")])
    body = text(path, engine=engine, strategy=strategy, account_id=account_id, region=region)
    folder = path.parent if str(path.parent) else FsPath(".")
    if not folder.is_dir():
        raise Failed([Diagnostic(str(folder), None, None, (), "the folder does not exist")])
    fd, tmp = tempfile.mkstemp(prefix="rotation-tf-init-", suffix=path.suffix or ".yaml", dir=folder)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as fh:
            fh.write(body)
        os.chmod(tmp, 0o644)
        # The starter must pass the same validation as any manifest (its module name comes from
        # the target's file name, so validate under that name).
        model.load(FsPath(tmp), display_name=str(path))  # raises Failed
        try:
            os.link(tmp, path)
        except FileExistsError:
            raise Failed([Diagnostic(str(path), None, None, (), "already exists; rotation-tf init never overwrites a file")]) from None
    finally:
        os.unlink(tmp)
