"""One load path (issue 28): a manifest is read once, from a file or from text, into one
:class:`generator.source.Source` (its text and positions) that the module keeps; no stage
reads it from disk again, and nothing writes a temporary file to load one.

* ``source.load_text`` gives what ``source.load`` gives for the file's bytes: the same
  data and positions, or the same diagnostics, for every example and hostile manifest;
* a clash between two manifests of one run is reported from the sources loaded for it,
  and ``doctor`` stamps each finding's line from the module's source: both are right after
  the file is gone;
* ``diff git:REV:PATH``, ``discover``'s validation and ``init``'s validation load text,
  with every way to make a temporary file refused.
"""

from __future__ import annotations

import subprocess
import tempfile
from pathlib import Path
from typing import Any

import pytest
import yaml
from helpers.paths import ROOT

from generator import api, source
from generator.errors import Failed

EXAMPLES = sorted((ROOT / "examples").glob("*.yaml"))
HOSTILE = sorted(p for p in (ROOT / "tests" / "data" / "hostile").glob("*.yaml") if p.is_file())


def _outcome(load: Any) -> Any:
    try:
        src = load()
    except Failed as exc:
        return [d.render() for d in exc.diagnostics]
    return (
        src.display_name, src.data, src.positions, src.key_positions, src.base_dir, src.text, src.file_name
    )  # fmt: skip


@pytest.mark.parametrize("path", EXAMPLES + HOSTILE, ids=lambda p: p.name)
def test_text_loads_as_the_file_does(path: Path) -> None:
    from_file = _outcome(lambda: source.load(path, str(path)))
    raw = path.read_bytes()
    assert _outcome(lambda: source.load_text(raw, str(path), path.parent, path.name)) == from_file
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        return
    assert _outcome(lambda: source.load_text(text, str(path), path.parent, path.name)) == from_file


def test_text_over_the_size_limit_is_refused_as_a_file_is(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(source, "MAX_BYTES", 40)
    text = "version: 1\nregion: us-east-1\n# é" + "x" * 8  # 40 characters, 41 bytes in UTF-8
    for given in (text, text.encode("utf-8")):
        with pytest.raises(Failed) as caught:
            source.load_text(given, "m.yaml")
        assert (
            caught.value.diagnostics[0].render() == "m.yaml: error: file is 41 bytes; manifests are limited to 40 bytes"
        )


def test_the_module_keeps_the_one_source(tmp_path: Path) -> None:
    path = ROOT / "examples" / "rotation.yaml"
    module, _ = api.load(path, str(path))
    assert module.source.text == path.read_text(encoding="utf-8")
    assert module.source.display_name == str(path)
    assert (module.manifest_name, module.manifest_dir) == ("rotation.yaml", path.parent)
    assert module.source.where(("secrets",), key=True) == (_line(module.source.text, "secrets:"), 1)
    # Text that is not on disk: the same plan (the source is not part of it); its base dir is
    # where the zip is looked for, its file name gives the module name.
    text = path.read_text(encoding="utf-8")
    other, notes = api.load(source.load_text(text, "git:HEAD:x/rotation.yaml", tmp_path, "rotation.yaml"))
    assert other == module and other.manifest_dir == tmp_path
    assert [d.render() for d in notes if "does not exist yet" in d.message] == [
        f"git:HEAD:x/rotation.yaml:{_line(text, 'filename: build/rotator.zip')}:17: warning: functions.mysql-alt."
        "package.filename: 'build/rotator.zip' does not exist yet; terraform plan needs it"
    ]
    orders, _ = api.load(source.load_text(text, "git:HEAD:x/orders.yaml"))
    assert (orders.name, orders.manifest_name) == ("orders", "orders.yaml")


def _line(text: str, start: str) -> int:
    return next(i for i, t in enumerate(text.splitlines(), 1) if t.strip().startswith(start))


def _clashing(tmp_path: Path) -> list[Path]:
    data = yaml.safe_load((ROOT / "examples" / "rotation.yaml").read_text(encoding="utf-8"))
    paths = []
    for name in ("one", "two"):
        (tmp_path / name).mkdir()
        path = tmp_path / name / "rotation.yaml"
        path.write_text(yaml.safe_dump({**data, "module": name}, sort_keys=False), encoding="utf-8")
        paths.append(path)
    return paths


def test_a_clash_is_reported_from_the_sources_loaded_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    paths = _clashing(tmp_path)
    expected = [[d.render() for d in r.diagnostics] for r in api.generate_many(paths, tmp_path / "out", check=True)]
    assert any("is also in" in line for line in expected[1]), expected

    loads: list[Path] = []
    real_load = source.load

    def load_once(path: Path, display_name: str | None = None) -> source.Source:
        loads.append(path)
        src = real_load(path, display_name)
        path.unlink()  # read again, it is gone
        return src

    monkeypatch.setattr(source, "load", load_once)
    results = api.generate_many(paths, tmp_path / "out", check=True)
    assert [[d.render() for d in r.diagnostics] for r in results] == expected
    assert loads == paths


def test_doctor_stamps_lines_from_the_modules_source(tmp_path: Path) -> None:
    from generator.live import commands
    from generator.live.findings import Audit, Finding, Report

    path = tmp_path / "rotation.yaml"
    path.write_bytes((ROOT / "examples" / "rotation.yaml").read_bytes())
    module, _ = api.load(path, str(path))
    fn, sec = module.functions[0], module.secrets[0]
    lines = path.read_text(encoding="utf-8").splitlines()
    fn_line = next(i for i, t in enumerate(lines, 1) if t.strip() == f"{fn.key}:")
    sec_key = next(i for i, t in enumerate(lines, 1) if t.strip().rstrip(":").strip("\"'") == sec.name)
    # a rotation finding sits on the exact field, the secret's function: (SARIF's region)
    sec_line = next(i for i, t in enumerate(lines, 1) if i > sec_key and t.strip().startswith("function:"))
    report = Report(
        module.account_id,
        module.region,
        [Finding(fn.key, "role", "pass", "ok"), Finding(sec.name, "rotation", "pass", "ok")],
    )
    path.unlink()  # doctor reads the manifest once, to validate it
    audit = Audit(path, module, report)
    commands._stamped(audit)
    assert [(f.subject, f.line) for f in audit.report.findings] == [(fn.key, fn_line), (sec.name, sec_line)]


@pytest.fixture
def no_temporary_files(monkeypatch: pytest.MonkeyPatch) -> None:
    def refused(*_a: Any, **_k: Any) -> Any:
        raise AssertionError("a temporary file was made to load a manifest")

    for name in ("mkstemp", "mkdtemp", "TemporaryDirectory", "NamedTemporaryFile", "TemporaryFile"):
        monkeypatch.setattr(tempfile, name, refused)


def test_diff_loads_a_git_revision_without_a_temporary_file(tmp_path: Path, no_temporary_files: None) -> None:
    from generator import diff

    repo = tmp_path / "repo"
    (repo / "infra").mkdir(parents=True)
    (repo / "infra" / "orders.yaml").write_bytes((ROOT / "examples" / "rotation.yaml").read_bytes())
    (repo / "infra" / "bad.yaml").write_bytes(b"version: 1\nregion: \xe9\n")
    git = ["git", "-c", "user.name=t", "-c", "user.email=t@example.com", "-C", str(repo)]
    for args in (["init", "-q"], ["add", "."], ["commit", "-qm", "base"]):
        subprocess.run([*git, *args], check=True, capture_output=True)
    module = diff.load_side("git:HEAD:infra/orders.yaml", cwd=repo)
    assert module is not None
    assert (module.name, module.manifest_name) == ("orders", "orders.yaml")
    assert module.source.text == (repo / "infra" / "orders.yaml").read_text(encoding="utf-8")
    with pytest.raises(Failed) as caught:  # a blob's bytes are judged as a file's
        diff.load_side("git:HEAD:infra/bad.yaml", cwd=repo)
    assert [d.render() for d in caught.value.diagnostics] == [
        "git:HEAD:infra/bad.yaml:2:9: error: not valid UTF-8 (byte 0xe9)"
    ]


def test_discover_validates_its_draft_without_a_temporary_file(no_temporary_files: None) -> None:
    from generator.live.discover import Discoverer

    data = yaml.safe_load((ROOT / "examples" / "rotation.yaml").read_text(encoding="utf-8"))
    text = yaml.safe_dump(data, sort_keys=False)
    assert Discoverer._problems(None, text) == {}  # type: ignore[arg-type]
    fn = next(iter(data["functions"]))
    data["functions"][fn]["engine"] = "nosuchengine"
    problems = Discoverer._problems(None, yaml.safe_dump(data, sort_keys=False))  # type: ignore[arg-type]
    assert ("functions", fn) in problems


def test_init_validates_its_starter_without_a_second_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """init writes the starter (and the schema) through temporary files that it links into
    place, and loads the starter, filled in with examples, from text under the target's name."""
    from generator import starter

    made: list[str] = []
    real = tempfile.mkstemp

    def mkstemp(*a: Any, **k: Any) -> tuple[int, str]:
        fd, name = real(*a, **k)
        made.append(Path(name).suffix)
        return fd, name

    loaded: list[tuple[str, str, Path]] = []
    real_load = api.load

    def load(manifest: Any, *a: Any, **k: Any) -> Any:
        assert isinstance(manifest, source.Source)
        loaded.append((manifest.display_name, manifest.file_name, manifest.base_dir))
        return real_load(manifest, *a, **k)

    monkeypatch.setattr(tempfile, "mkstemp", mkstemp)
    monkeypatch.setattr(api, "load", load)
    target = tmp_path / "orders.yaml"
    starter.write(target, engine="postgresql", strategy="single_user", account_id="111122223333", region="us-east-1")
    assert made == [".yaml", ".json"]
    assert loaded == [(str(target), "orders.yaml", tmp_path)]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["orders.yaml", starter.SCHEMA_FILE]
