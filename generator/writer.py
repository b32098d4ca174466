"""Stage 5: put rendered files on disk atomically, or compare them with what is there.

Writing renders nothing: it receives every file's text, writes them into a staging folder
beside the target, and swaps the folder in with one ``renameat2(RENAME_EXCHANGE)`` call,
so a run killed at any moment leaves the old module or the new one, never a mix. Runs on
the same output folder are serialised with ``flock`` on the folder itself (no lock file
to commit). A file without the tool's header (:func:`is_generated`) is never overwritten
or deleted.

What the module folder holds before a write is read here too: :func:`dropped_created_secrets`
warns of the created secrets that the next apply would delete.
"""

from __future__ import annotations

import errno
import os
import re
from collections.abc import Collection, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path as FsPath
from typing import TYPE_CHECKING

from generator.errors import NOT_GENERATED, Diagnostic, Failed, Level

if TYPE_CHECKING:
    from generator.model import Module

MARKER = "DO NOT EDIT"
TOOL = "rotation-tf"
"""Every generated file's header names the tool and carries the marker (render.header)."""

STAGING_PREFIX = ".rotation-tf-staging-"
_RENAME_EXCHANGE = 2
_AT_FDCWD = -100


def is_generated(text: str) -> bool:
    """True when the file carries the tool's header: on its first line, or for JSON
    (which has no comments) in a "_comment" member on its second line."""
    head = text.split("\n", 2)
    if TOOL in head[0] and MARKER in head[0]:
        return True
    return (
        head[0] == "{"
        and len(head) > 1
        and head[1].lstrip().startswith('"_comment"')
        and TOOL in head[1]
        and MARKER in head[1]
    )


@dataclass
class Drift:
    changed: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    extra: list[str] = field(default_factory=list)
    foreign: list[str] = field(default_factory=list)
    diff: str = ""
    ours: list[str] = field(default_factory=list)  # foreign files named like one the tool generates here

    @property
    def count(self) -> int:
        return len(self.changed) + len(self.missing) + len(self.extra) + len(self.foreign)


FOREIGN_MESSAGE = f"{NOT_GENERATED}; refusing to overwrite or delete it"


def restore_hint(path: str) -> str:
    """For a foreign file named like one the tool generates (most often its own file that lost
    its header line): how to let generate write it again."""
    return (
        "rotation-tf generates a file of this name: if this is that file and it lost its header line, "
        f"restore it (git checkout -- {path}) or delete it, and generate writes it again; "
        "if it is your own file, move it out of the module folder"
    )


def foreign_message(target: FsPath, name: str, ours: Collection[str] = ()) -> str:
    if name in ours:
        return f"{FOREIGN_MESSAGE}. {restore_hint(str(target / name))}"
    return f"{FOREIGN_MESSAGE}: move it out of the module folder"


def refuse_foreign(target: FsPath, foreign: list[str], ours: Collection[str] = ()) -> None:
    """Raise :class:`Failed` unless ``target`` may be replaced: it is not a symbolic link, and
    ``foreign`` (from :func:`compare` or the tree read) lists nothing the tool did not write.
    ``ours``: the names the tool would write there, for the advice on a file that has one."""
    if target.is_symlink():
        # Swapping would move the link, not what it points to; refuse rather than guess.
        raise Failed([Diagnostic(str(target), None, None, (), "is a symbolic link; refusing to replace it")])
    if foreign:
        raise Failed(
            [Diagnostic(str(target / name), None, None, (), foreign_message(target, name, ours)) for name in foreign]
        )


def module_dir(out_dir: FsPath, name: str) -> FsPath:
    """The module folder; refuses names that would leave ``out_dir``."""
    if not name or name in (".", "..") or "/" in name or "\\" in name or "\0" in name or os.path.isabs(name):
        raise Failed(
            [Diagnostic(str(out_dir), None, None, ("module",), f"module name {name!r} is not a plain folder name")]
        )
    return out_dir / name


def _read_tree(target: FsPath) -> tuple[dict[str, str | None], list[str]]:
    """Files under ``target`` by relative path (forward slashes) -> text; plus foreign
    entries: anything that is not a regular UTF-8 file carrying the tool's header."""
    files: dict[str, str | None] = {}
    foreign: list[str] = []
    if not target.exists():
        return files, foreign
    if not target.is_dir() or target.is_symlink():
        return files, [target.name]
    for entry in sorted(target.rglob("*")):
        rel = entry.relative_to(target).as_posix()
        if entry.is_symlink():
            foreign.append(rel)
            continue
        if entry.is_dir():
            if not any(p.is_file() or p.is_symlink() for p in entry.rglob("*")):
                foreign.append(rel)  # the tool never writes an empty folder
            continue
        if not entry.is_file():
            foreign.append(rel)
            continue
        try:
            text = entry.read_text(encoding="utf-8")
        except (UnicodeDecodeError, OSError):
            foreign.append(rel)
            continue
        if not is_generated(text):
            foreign.append(rel)
            continue
        files[rel] = text
    return files, foreign


def compare(files: dict[str, str], target: FsPath, display: str) -> Drift:
    """What ``generate`` would change in ``target``. Writes nothing."""
    drift = Drift()
    on_disk, drift.foreign = _read_tree(target)
    drift.ours = [name for name in drift.foreign if name in files]
    chunks: list[str] = []
    for name in sorted(files):
        if name in drift.foreign:
            continue
        if name not in on_disk:
            drift.missing.append(name)
            continue
        if on_disk[name] != files[name]:
            import difflib  # only on drift: a hook's usual run finds none

            drift.changed.append(name)
            chunks.extend(
                difflib.unified_diff(
                    (on_disk[name] or "").splitlines(keepends=True),
                    files[name].splitlines(keepends=True),
                    fromfile=f"a/{display}/{name}",
                    tofile=f"b/{display}/{name}",
                )
            )
    drift.extra = sorted(set(on_disk) - set(files))
    drift.diff = "".join(c if c.endswith("\n") else c + "\n\\ No newline at end of file\n" for c in chunks)
    return drift


@contextmanager
def _locked(directory: FsPath) -> Iterator[None]:
    import fcntl

    fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # closing releases the lock


def _fsync_dir(directory: FsPath) -> None:
    fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


_libc = None


def _exchange(a: FsPath, b: FsPath) -> bool:
    """Atomically swap two paths (Linux renameat2). False where the system lacks it."""
    import ctypes  # here, not at the top: `generate --check` and `validate` never swap

    global _libc
    if _libc is None:
        # The running process's own symbols include the C library's; find_library would
        # start ldconfig or a compiler to locate it by name, so it is only the fallback.
        libc: ctypes.CDLL | bool = ctypes.CDLL(None, use_errno=True)
        if getattr(libc, "renameat2", None) is None:
            import ctypes.util

            name = ctypes.util.find_library("c")
            libc = ctypes.CDLL(name, use_errno=True) if name else False
        _libc = libc
    fn = getattr(_libc, "renameat2", None) if _libc else None
    if fn is None:
        return False
    rc = fn(_AT_FDCWD, os.fsencode(a), _AT_FDCWD, os.fsencode(b), _RENAME_EXCHANGE)
    if rc == 0:
        return True
    err = ctypes.get_errno()
    if err in (errno.ENOSYS, errno.EINVAL, errno.EOPNOTSUPP):
        return False
    raise OSError(err, os.strerror(err), str(b))


def write(files: dict[str, str], target: FsPath) -> None:
    """Replace ``target`` with exactly ``files``, atomically."""
    import shutil  # here, with tempfile: only writing needs them, not --check
    import tempfile

    out_dir = target.parent
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise Failed(
            [Diagnostic(str(out_dir), None, None, (), f"cannot create the output folder: {exc.strerror}")]
        ) from None
    if not out_dir.is_dir():
        raise Failed([Diagnostic(str(out_dir), None, None, (), "the output path is not a folder")])
    with _locked(out_dir):
        for stale in out_dir.glob(f"{STAGING_PREFIX}*"):  # left by a run that was killed
            if stale.is_symlink() or not stale.is_dir():
                stale.unlink(missing_ok=True)
            else:
                shutil.rmtree(stale, ignore_errors=True)
        _, foreign = _read_tree(target)
        refuse_foreign(target, foreign, files)
        staging = FsPath(tempfile.mkdtemp(prefix=STAGING_PREFIX, dir=out_dir))
        try:
            for name in sorted(files):
                path = staging / name
                if path.parent != staging:
                    path.parent.mkdir(parents=True, exist_ok=True)
                    os.chmod(path.parent, 0o755)
                with open(path, "w", encoding="utf-8", newline="\n") as fh:
                    fh.write(files[name])
                    fh.flush()
                    os.fsync(fh.fileno())
                os.chmod(path, 0o644)
            os.chmod(staging, 0o755)
            _fsync_dir(staging)
            if not target.exists():
                os.rename(staging, target)
            elif _exchange(staging, target):
                pass  # staging now holds the old tree
            else:  # pragma: no cover - kernels without renameat2
                old = FsPath(tempfile.mkdtemp(prefix=STAGING_PREFIX, dir=out_dir))
                os.rmdir(old)
                os.rename(target, old)
                os.rename(staging, target)
                staging = old
            _fsync_dir(out_dir)
        finally:
            shutil.rmtree(staging, ignore_errors=True)


_CREATED_SECRET = re.compile(
    r'^resource "aws_secretsmanager_secret" "[^"]+" \{\n  name += "([^"\\]*)"\n(.*?)^\}', re.M | re.S
)
_RECOVERY = re.compile(r"recovery_window_in_days += ([0-9]+)")


def dropped_created_secrets(manifest: FsPath, target: FsPath, module: Module) -> list[Diagnostic]:
    """A warning for each secret that the module folder's current ``secrets.tf`` creates and
    the manifest no longer does: the next apply deletes it. Secrets Manager cannot rename a
    secret, so a renamed created secret is one of these, and its successor gets a new random
    password. The old ``secrets.tf`` is the tool's own output (names need no unescaping:
    created secret names hold only letters, digits and /_+=.@-)."""
    path = target / "secrets.tf"
    try:
        old = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return []
    if not is_generated(old):
        return []
    kept = {s.name for s in module.managed}
    out = []
    for m in _CREATED_SECRET.finditer(old):
        name = m.group(1)
        if name in kept:
            continue
        days = _RECOVERY.search(m.group(2))
        restore = f"restorable for {days.group(1)} days" if days and days.group(1) != "0" else "without recovery"
        out.append(
            Diagnostic(
                str(manifest),
                None,
                None,
                ("secrets",),
                f"created secret {name!r} is in {path} but no longer in the manifest: the next apply deletes it "
                f"and its password ({restore}). Secrets Manager cannot rename a secret, so a new name is a new "
                "secret with a new random password; put the entry back to keep it",
                level=Level.WARNING,
            )
        )
    return out
