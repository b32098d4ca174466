"""A cache for the hook's common case: a manifest that has not changed since rotation-tf
last validated it, or last generated (or checked) its module.

The usual way to commit a manifest change is: edit, ``rotation-tf generate``, ``git add``,
``git commit``, and the pre-commit hook runs ``generate --check`` (or ``validate``) on the
very manifest that ``generate`` has just read. Most of a small run is importing pydantic
and building the validators, so the second look costs as much as the first. This module
remembers, per manifest, what the last complete run concluded, and lets the next run skip
the whole pipeline when *everything* it depends on is unchanged:

* the manifest's text, the name it is shown under, the working folder and ``--out``;
* rotation-tf itself (every file of the package and its templates, by content), the
  Python version, and the installed jinja2, pydantic, pydantic-core and PyYAML (by the
  path, size and modification time of each one's ``__init__``);
* the date the runtime deprecation warnings are computed for (``runtimes.today``);
* whether each zip the manifest names exists (the one check that reads the disk).

A hit can only say "valid" (``validate``) or "up to date" (``generate --check``), and the
warnings to print again. For ``--check`` the module folder must then hold exactly the files
recorded, byte for byte (SHA-256), and nothing else; anything else is a miss, and the full
pipeline runs and reports. Bad manifests and stale modules are never cached.

The cache lives in ``$ROTATION_TF_CACHE_DIR``, else ``$XDG_CACHE_HOME/rotation-tf``, else
``~/.cache/rotation-tf``; one small JSON file per manifest and command. Set
``ROTATION_TF_NO_CACHE=1`` to turn it off. A cache that cannot be read or written is
simply not used.
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from generator.api import Result
    from generator.model import Module

_HERE = Path(__file__).resolve().parent
_LIBRARIES = ("jinja2", "pydantic", "pydantic_core", "yaml")
FORMAT = 1


def enabled() -> bool:
    return not os.environ.get("ROTATION_TF_NO_CACHE")


def cache_dir() -> Path:
    explicit = os.environ.get("ROTATION_TF_CACHE_DIR")
    if explicit:
        return Path(explicit)
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "rotation-tf"


_fingerprint: str | None = None


def fingerprint() -> str:
    """rotation-tf's code and templates by content, the interpreter, and the libraries that
    shape its output (by their files' identity, without importing them)."""
    global _fingerprint
    if _fingerprint is not None:
        return _fingerprint
    import importlib.util

    from generator import __version__, runtimes

    h = hashlib.sha256()
    h.update(f"{FORMAT}|{__version__}|{sys.version}|{runtimes.today().isoformat()}".encode())
    roots = [_HERE] + [p for p in (_HERE / "templates", _HERE.parent / "templates") if p.is_dir()]
    for root in roots:
        for dirpath, dirnames, filenames in os.walk(root):
            dirnames[:] = sorted(d for d in dirnames if d != "__pycache__")
            for name in sorted(filenames):
                if name.endswith((".py", ".j2", ".json", ".yaml")):
                    path = os.path.join(dirpath, name)
                    h.update(os.path.relpath(path, root).encode() + b"\0")
                    with open(path, "rb") as fh:
                        h.update(hashlib.sha256(fh.read()).digest())
    for lib in _LIBRARIES:
        spec = importlib.util.find_spec(lib)
        origin = spec.origin if spec is not None and spec.origin else ""
        st = os.stat(origin) if origin else None
        h.update(f"|{lib}|{origin}|{st.st_size if st else 0}|{st.st_mtime_ns if st else 0}".encode())
    _fingerprint = h.hexdigest()
    return _fingerprint


def _entry_path(kind: str, manifest: Path, text: str, extra: str) -> Path:
    h = hashlib.sha256()
    for part in (fingerprint(), kind, str(manifest), os.getcwd(), extra, text):
        h.update(part.encode("utf-8", "surrogateescape") + b"\0")
    return cache_dir() / f"{kind}-{h.hexdigest()[:40]}.json"


def _read_manifest(manifest: Path) -> str | None:
    """The manifest's text as generator.source.load_text decodes a file (UTF-8, without a
    byte order mark), to look an entry up; None when it cannot be read or decoded (never
    valid). An entry is stored under the text that was validated (``module.source.text``),
    never under the file read again after the run, which may have changed meanwhile."""
    try:
        return manifest.read_bytes().decode("utf-8").removeprefix("\ufeff")
    except (OSError, UnicodeDecodeError):
        return None


def _tree(target: Path) -> dict[str, str] | None:
    """SHA-256 of every regular file under ``target`` by relative path; None when the folder
    holds anything else (a symlink, an empty folder, a special file) or cannot be read."""
    out: dict[str, str] = {}
    try:
        for dirpath, dirnames, filenames in os.walk(target):
            for d in dirnames:
                p = os.path.join(dirpath, d)
                if os.path.islink(p) or not os.listdir(p):
                    return None
            for name in filenames:
                p = os.path.join(dirpath, name)
                if os.path.islink(p) or not os.path.isfile(p):
                    return None
                with open(p, "rb") as fh:
                    out[os.path.relpath(p, target).replace(os.sep, "/")] = hashlib.sha256(fh.read()).hexdigest()
    except OSError:
        return None
    return out


def _zips(module: Module) -> dict[str, bool]:
    return {
        str((module.manifest_dir / fn.package.filename).resolve()): (
            module.manifest_dir / fn.package.filename
        ).is_file()
        for fn in module.functions
        if fn.package is not None
    }


def _load(path: Path) -> dict[str, Any] | None:
    try:
        with open(path, encoding="utf-8") as fh:
            data = json.load(fh)
    except (OSError, ValueError):
        return None
    if not isinstance(data, dict):
        return None
    zips = data.get("zips", {})
    if not isinstance(zips, dict) or any(Path(p).is_file() != bool(v) for p, v in zips.items()):
        return None
    return data


def _store(path: Path, data: dict[str, Any]) -> None:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        with open(tmp, "w", encoding="utf-8") as fh:
            json.dump(data, fh)
        os.replace(tmp, path)
    except OSError:
        pass


# --------------------------------------------------------------------------------------
# validate


def validated(manifest: Path) -> list[str] | None:
    """The diagnostics (warnings) to print again when ``manifest`` is known valid; None on a miss."""
    if not enabled():
        return None
    text = _read_manifest(manifest)
    if text is None:
        return None
    data = _load(_entry_path("validate", manifest, text, ""))
    return list(data["diagnostics"]) if data is not None else None


def remember_valid(manifest: Path, result: Result) -> None:
    if not enabled() or result.module is None or result.exit != 0:
        return
    data = {"diagnostics": [d.render() for d in result.diagnostics], "zips": _zips(result.module)}
    _store(_entry_path("validate", manifest, result.module.source.text, ""), data)


# --------------------------------------------------------------------------------------
# generate --check


def checked(manifest: Path, out: Path) -> tuple[list[str], str, list[str]] | None:
    """(diagnostics, module folder as shown, claims) when the manifest is unchanged since its
    module was last generated or found up to date, and the folder holds exactly those files.
    The claims (api.claims) let the caller see that two manifests clash."""
    if not enabled():
        return None
    text = _read_manifest(manifest)
    if text is None:
        return None
    data = _load(_entry_path("check", manifest, text, str(out)))
    if data is None or not isinstance(data.get("claims"), list) or _tree(Path(data["target"])) != data["files"]:
        return None
    return list(data["diagnostics"]), str(data["target"]), [str(c) for c in data["claims"]]


def remember_generated(manifest: Path, out: Path, result: Result) -> None:
    """After a run that left ``result.target`` exactly as rendered (written, or checked and
    found up to date)."""
    if not enabled() or result.module is None or result.target is None or result.exit != 0:
        return
    files = _tree(result.target)
    if files is None:
        return
    from generator.api import claims

    data = {
        "diagnostics": [d.render() for d in result.diagnostics],
        "claims": claims(result.module),
        "target": str(result.target),
        "files": files,
        "zips": _zips(result.module),
    }
    _store(_entry_path("check", manifest, result.module.source.text, str(out)), data)
