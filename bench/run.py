"""Benchmark rotation-tf against Terraform itself, in one run, as ratios.

    .venv/bin/python bench/run.py [--quick] [--json results.json] [--keep DIR]

Not part of the test suite. A full run takes about 5 minutes on the project's idle 2-core
machine (most of it ``terraform fmt`` on 7 MB of output and ``terraform plan``), ``--quick``
about 1.5. Every figure that matters is a ratio against a baseline measured
in the same run (the machine is shared, so absolute times drift): the whole ``rotation-tf
generate`` process against ``terraform fmt -check`` on what it wrote and against a plain
Python process writing the same bytes; ``rotation-tf --version`` against ``python -c pass``;
and ``terraform plan`` on the generated module against two hand-written designs of the same
rotations. Each command runs as its own process; a figure is the median of several runs,
and the runs of the commands being compared are interleaved so that load on the machine
hits them alike. Peak memory is the child's ``ru_maxrss`` from ``wait4``.

Needs the ``terraform`` CLI and the offline provider mirror that the tests use (see
tests/helpers/harness.py); without them the plan section is skipped and says so.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(ROOT / "tests"))

import synth  # noqa: E402

SIZES = (10, 100, 1_000, 10_000)
FUNCTIONS = (1, 20, 100)
PLAN_SIZES = (10, 100, 1_000)

TARGETS = {
    "generate_vs_fmt": 0.5,
    "check_vs_generate": 1.0,
    "peak_rss_mb": 250.0,
    "version_vs_python": 5.0,
    "plan_vs_minimal": 1.1,
    "extra_resources_per_secret": 1,
    "extra_resources_per_created_secret": 2,
    "linearity": 1.5,
}
"""Issue 6's targets; the report's verdicts read them from here."""


# ------------------------------------------------------------------------------------------
# Running and timing one process


@dataclass
class Sample:
    seconds: float  # wall clock
    maxrss_kb: int
    cpu: float = 0.0  # user + system seconds of the child
    stdout: str = ""  # only with run_rss(..., keep_stdout=True)


def run(
    cmd: list[str], cwd: Path, env: dict[str, str] | None = None, ok: tuple[int, ...] = (0,), timeout: float = 600
) -> None:
    """Run a set-up step (not measured)."""
    proc = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)
    if proc.returncode not in ok:
        raise RuntimeError(f"{' '.join(cmd)} exited {proc.returncode}:\n{proc.stdout[-2000:]}\n{proc.stderr[-2000:]}")


def run_rss(
    cmd: list[str],
    cwd: Path,
    env: dict[str, str] | None = None,
    ok: tuple[int, ...] = (0,),
    timeout: float = 600,
    keep_stdout: bool = False,
) -> Sample:
    """Like :func:`run`, but reaps the child with ``os.wait4`` to read its own ``ru_maxrss``.

    Output goes to files, not pipes, so that waiting cannot dead-lock on a full pipe.
    """
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        start = time.perf_counter()
        proc = subprocess.Popen(cmd, cwd=cwd, env=env, stdout=out, stderr=err)
        deadline = start + timeout
        while True:  # bounded by the deadline
            pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
            if pid:
                break
            if time.perf_counter() > deadline:
                proc.kill()
                os.wait4(proc.pid, 0)
                raise RuntimeError(f"timed out after {timeout}s: {' '.join(cmd)}")
            time.sleep(0.002)
        elapsed = time.perf_counter() - start
        proc.returncode = os.waitstatus_to_exitcode(status)
        if proc.returncode not in ok:
            out.seek(0)
            err.seek(0)
            raise RuntimeError(
                f"{' '.join(cmd)} exited {proc.returncode}:\n{out.read().decode()[-2000:]}\n{err.read().decode()[-2000:]}"
            )
        text = ""
        if keep_stdout:
            out.seek(0)
            text = out.read().decode(errors="replace")
    return Sample(elapsed, usage.ru_maxrss, usage.ru_utime + usage.ru_stime, text)


def median(xs: list[float]) -> float:
    return statistics.median(xs)


# ------------------------------------------------------------------------------------------
# The I/O floor: a plain Python process that writes the same bytes the same way (one file
# each, fsync'd, as the generator does), reading them from one blob the way the generator
# reads its manifest.

FLOOR = r"""
import os, sys, json
src, dst = sys.argv[1], sys.argv[2]
with open(src, "rb") as fh:
    blob = fh.read()
index = json.loads(blob[: blob.index(b"\n")])
os.mkdir(dst)
pos = blob.index(b"\n") + 1
for name, size in index:
    with open(os.path.join(dst, name), "wb") as fh:
        fh.write(blob[pos : pos + size])
        fh.flush()
        os.fsync(fh.fileno())
    pos += size
fd = os.open(dst, os.O_RDONLY)
os.fsync(fd)
os.close(fd)
"""


def make_blob(module_dir: Path, blob: Path) -> int:
    files = sorted(p for p in module_dir.iterdir() if p.is_file())
    datas = [p.read_bytes() for p in files]
    index = json.dumps([[p.name, len(d)] for p, d in zip(files, datas, strict=True)]).encode()
    blob.write_bytes(index + b"\n" + b"".join(datas))
    return sum(len(d) for d in datas)


# ------------------------------------------------------------------------------------------
# Terraform


@dataclass
class Tf:
    binary: str
    env: dict[str, str]


def find_terraform(work: Path) -> Tf | None:
    try:
        from helpers.harness import cli_config_text, find_mirror, terraform_env
    except Exception:  # pragma: no cover - harness needs pytest (the test extra)
        return None
    binary = shutil.which("terraform")
    if binary is None:
        return None
    mirror = find_mirror()
    cfg = work / "terraform.tfrc"
    cfg.write_text(cli_config_text(mirror))
    tf = Tf(binary, terraform_env(cfg))
    tf.mirror = mirror  # type: ignore[attr-defined]
    return tf


def provider_block() -> str:
    try:
        from helpers.harness import provider_block as pb

        return pb(synth.REGION, None)
    except Exception:  # pragma: no cover
        return (
            'provider "aws" {\n  region = "us-east-1"\n  access_key = "testing"\n  secret_key = "testing"\n'
            "  skip_credentials_validation = true\n  skip_metadata_api_check = true\n"
            "  skip_requesting_account_id = true\n  skip_region_validation = true\n}\n"
        )


def make_root(path: Path, module_files: dict[str, str] | Path, zip_src: Path) -> None:
    """A root config that calls the module in ./mod (the same wrapper for every variant)."""
    if path.exists():
        shutil.rmtree(path)
    mod = path / "mod"
    if isinstance(module_files, Path):
        shutil.copytree(module_files, mod)
    else:
        mod.mkdir(parents=True)
        for name, text in module_files.items():
            (mod / name).write_text(text)
    shutil.copy(zip_src, mod / "rotator.zip")
    (path / "main.tf").write_text(provider_block() + '\nmodule "rotation" {\n  source = "./mod"\n}\n')


def init_roots(tf: Tf, roots: list[Path], template: Path) -> None:
    """``terraform init`` once; every root calls ./mod, so the others share its result."""
    make_root(template, {"main.tf": "# empty\n"}, next(iter(roots)).parent.parent / "rotator.zip")
    run([tf.binary, "init", "-backend=false", "-input=false", "-no-color"], template, tf.env)
    for r in roots:
        (r / ".terraform" / "modules").mkdir(parents=True, exist_ok=True)
        os.symlink((template / ".terraform" / "providers").resolve(), r / ".terraform" / "providers")
        shutil.copy(template / ".terraform" / "modules" / "modules.json", r / ".terraform" / "modules")
        shutil.copy(template / ".terraform.lock.hcl", r)


PLAN = ["plan", "-refresh=false", "-input=false", "-lock=false", "-no-color", "-out=tfplan"]


def count_planned(plan_stdout: str) -> int:
    """Resources the plan creates, from its summary line ("Plan: N to add, ...")."""
    m = re.search(r"^Plan: (\d+) to add, 0 to change, 0 to destroy\.$", plan_stdout, re.M)
    if m is None:
        raise RuntimeError(f"no plan summary in terraform's output:\n{plan_stdout[-2000:]}")
    return int(m.group(1))


# ------------------------------------------------------------------------------------------
# The benchmark


@dataclass
class Case:
    secrets: int
    functions: int  # functions declared (at most one per secret)
    dir: Path
    manifest_bytes: int = 0
    output_bytes: int = 0
    times: dict[str, list[float]] = field(default_factory=dict)
    rss_kb: list[int] = field(default_factory=list)

    cpu: dict[str, list[float]] = field(default_factory=dict)

    def add(self, what: str, s: Sample) -> None:
        self.times.setdefault(what, []).append(s.seconds)
        self.cpu.setdefault(what, []).append(s.cpu)

    def med(self, what: str) -> float:
        return median(self.times[what])

    def med_cpu(self, what: str) -> float:
        return median(self.cpu[what])


_START = time.perf_counter()


def log(msg: str) -> None:
    print(f"[{time.perf_counter() - _START:5.0f} s] {msg}", file=sys.stderr, flush=True)


def bench_cases(args, work: Path, tool: str, tf: Tf | None) -> list[Case]:
    cases = []
    seen = set()
    for n in args.sizes:
        for f in args.functions:
            if (n, min(n, f)) in seen:  # 10 secrets over 20 or 100 functions: the same case
                continue
            seen.add((n, min(n, f)))
            d = work / f"s{n}-f{f}"
            d.mkdir(parents=True)
            spec = synth.make(n, f)
            synth.write_zip(d)
            text = synth.manifest_yaml(spec)
            (d / "rotation.yaml").write_text(text)
            c = Case(n, len(spec.functions), d, manifest_bytes=len(text.encode()))
            cases.append(c)
    for c in cases:
        runs = args.runs
        log(f"  {c.secrets:>6} secrets / {c.functions:>3} functions: {runs} runs")
        out = c.dir / "out"
        module = out / "rotation"
        blob = c.dir / "floor.bin"
        for i in range(runs):
            shutil.rmtree(out, ignore_errors=True)
            s = run_rss([tool, "generate", "rotation.yaml", "--out", "out"], c.dir)
            c.add("generate", s)
            c.rss_kb.append(s.maxrss_kb)
            if i == 0:
                c.output_bytes = make_blob(module, blob)
            c.add("check", run_rss([tool, "generate", "rotation.yaml", "--check", "--out", "out"], c.dir))
            c.add("validate", run_rss([tool, "validate", "rotation.yaml"], c.dir))
            if tf is not None:
                c.add("fmt", run_rss([tf.binary, "fmt", "-check", "-recursive", str(module)], c.dir, tf.env))
            shutil.rmtree(c.dir / "floor", ignore_errors=True)
            c.add("floor", run_rss([sys.executable, "-c", FLOOR, str(blob), str(c.dir / "floor")], c.dir))
    return cases


def bench_startup(args, tool: str, work: Path) -> dict[str, list[float]]:
    out: dict[str, list[float]] = {"version": [], "python": []}
    for _ in range(args.startup_runs):
        out["python"].append(run_rss([sys.executable, "-c", "pass"], work).seconds)
        out["version"].append(run_rss([tool, "--version"], work).seconds)
    return out


def bench_plans(args, work: Path, tool: str, tf: Tf) -> dict[str, dict]:
    base = work / "plan"
    base.mkdir()
    synth.write_zip(base)
    zip_src = base / synth.ZIP_NAME
    shutil.copy(zip_src, base / "rotator.zip")
    roots: dict[tuple[str, int], Path] = {}
    for n in args.plan_sizes:
        spec = synth.make(n, 1)
        d = base / f"gen-{n}"
        d.mkdir()
        synth.write_zip(d)
        (d / "rotation.yaml").write_text(synth.manifest_yaml(spec))
        run([tool, "generate", "rotation.yaml", "--out", "out"], d, ok=(0,))
        variants = {
            "generated": d / "out" / "rotation",
            "minimal": {"main.tf": synth.minimal_tf(spec)},
            "minimal_for_each": {"main.tf": synth.minimal_for_each_tf(spec)},
            "per_secret": {"main.tf": synth.per_secret_tf(spec, "rotator.zip")},
        }
        for name, files in variants.items():
            if name == "per_secret" and n > args.per_secret_max:
                continue
            # for_each is the design the module does not use (its plan time grows with the
            # square of the secrets); --full plans it once at the largest size to show why
            if name == "minimal_for_each" and (not args.full or n != max(args.plan_sizes)):
                continue
            r = base / f"{name}-{n}" / "root"
            make_root(r, files, zip_src)
            roots[(name, n)] = r
    init_roots(tf, list(roots.values()), base / "template" / "root")
    results: dict[str, dict] = {}
    for n in args.plan_sizes:
        names = [v for (v, m) in roots if m == n]
        # The largest size carries the target, so it gets the most runs; below it a plan is
        # mostly Terraform's and the provider's start-up, the same for every design.
        runs = (
            args.plan_runs_large
            if n == max(args.plan_sizes)
            else args.plan_runs_small
            if n > min(args.plan_sizes)
            else 1
        )
        log(f"  plan at {n} secrets: {', '.join(names)} x {runs} (for_each x 1)")
        times: dict[str, list[float]] = {v: [] for v in names}
        cpu: dict[str, list[float]] = {v: [] for v in names}
        planned: dict[str, int] = {}
        for i in range(runs):
            for v in names:
                if v == "minimal_for_each" and i > 0:
                    continue
                s = run_rss([tf.binary, *PLAN], roots[(v, n)], tf.env, timeout=900, keep_stdout=True)
                times[v].append(s.seconds)
                cpu[v].append(s.cpu)
                planned[v] = count_planned(s.stdout)
        results[str(n)] = {
            v: {"times": times[v], "cpu": cpu[v], "median": median(times[v]), "resources": planned[v]} for v in names
        }
    return results


# ------------------------------------------------------------------------------------------
# Report


def slope(points: list[tuple[int, float]]) -> float:
    """Least-squares slope, seconds per secret."""
    xs, ys = [p[0] for p in points], [p[1] for p in points]
    mx, my = sum(xs) / len(xs), sum(ys) / len(ys)
    return sum((x - mx) * (y - my) for x, y in zip(xs, ys, strict=True)) / sum((x - mx) ** 2 for x in xs)


def verdict(ok: bool | None) -> str:
    return "n/a" if ok is None else ("hold" if ok else "MISS")


def report(
    args,
    cases: list[Case],
    startup: dict,
    plans: dict | None,
    have_fmt: bool,
    elapsed: float,
    machine_text: str | None = None,
) -> dict:
    lines = []
    p = lines.append
    p("")
    p("## generate, --check and validate (median seconds; ratios against baselines of the same run)")
    p("")
    hdr = "| secrets | functions | manifest | output | generate | --check | validate | fmt -check | I/O floor | gen/fmt | gen/fmt (CPU) | check/gen | gen/floor | peak RSS |"
    p(hdr)
    p("| ---: " * (hdr.count("|") - 1) + "|")
    rows = []
    for c in cases:
        g, ch, v, fl = c.med("generate"), c.med("check"), c.med("validate"), c.med("floor")
        fm = c.med("fmt") if have_fmt else None
        row = {
            "secrets": c.secrets,
            "functions": c.functions,
            "manifest_bytes": c.manifest_bytes,
            "output_bytes": c.output_bytes,
            "generate_s": g,
            "check_s": ch,
            "validate_s": v,
            "fmt_s": fm,
            "floor_s": fl,
            "generate_vs_fmt": g / fm if fm else None,
            "generate_vs_fmt_cpu": c.med_cpu("generate") / c.med_cpu("fmt") if fm else None,
            "check_vs_generate": ch / g,
            "check_vs_generate_cpu": c.med_cpu("check") / c.med_cpu("generate"),
            "generate_vs_floor": g / fl,
            "peak_rss_mb": max(c.rss_kb) / 1024,
            "runs": c.times,
            "cpu_runs": c.cpu,
        }
        rows.append(row)
        p(
            f"| {c.secrets:,} | {c.functions} | {c.manifest_bytes / 1e6:.2f} MB | {c.output_bytes / 1e6:.2f} MB | {g:.3f} | {ch:.3f} | {v:.3f} | "
            + (f"{fm:.3f}" if fm else "n/a")
            + f" | {fl:.3f} | "
            + (f"{g / fm:.2f} | {row['generate_vs_fmt_cpu']:.2f}" if fm else "n/a | n/a")
            + f" | {ch / g:.2f} | {g / fl:.1f} | {max(c.rss_kb) / 1024:.0f} MB |"
        )
    # linearity per function count: slope over all sizes and the marginal cost per 1,000
    # secrets between the two largest sizes against that between the two before them
    lin = {}
    p("")
    p("## Growth of generate (CPU time of the process, median of runs: steadier than wall clock on a shared machine)")
    p("")
    p(
        "A process pays a fixed start-up (imports, templates) whatever the size, so the cost per secret is "
        "measured over the 10-secret run: (t(N) - t(10)) / (N - 10). Linear growth keeps it flat from 1,000 "
        "to 10,000 secrets; the slope is the least-squares fit over 100, 1,000 and 10,000 secrets."
    )
    p("")
    p(
        "| functions | slope, CPU (ms per 1,000 secrets) | slope, wall clock | per 1,000 secrets at 1,000 | at 10,000 | ratio |"
    )
    p("| ---: | ---: | ---: | ---: | ---: | ---: |")
    for f in sorted({c.functions for c in cases if c.secrets >= 100}):
        mine = sorted((c for c in cases if c.functions == f and c.secrets >= 100), key=lambda c: c.secrets)
        small = [c for c in cases if c.secrets == min(args.sizes)]
        if len(mine) < 3 or not small:
            continue
        base = next((c for c in small if c.functions == min(f, c.secrets)), small[-1])
        s = slope([(c.secrets, c.med_cpu("generate")) for c in mine]) * 1e6
        s_wall = slope([(c.secrets, c.med("generate")) for c in mine]) * 1e6
        per = {
            c.secrets: (c.med_cpu("generate") - base.med_cpu("generate")) / (c.secrets - base.secrets) * 1e6
            for c in mine
            if c.secrets in (1_000, 10_000)
        }
        if len(per) < 2:
            continue
        ratio = per[10_000] / per[1_000] if per[1_000] > 0 else None
        lin[f] = {
            "slope_cpu_ms_per_1000": s,
            "slope_wall_ms_per_1000": s_wall,
            "per_1000_at_1000": per[1_000],
            "per_1000_at_10000": per[10_000],
            "ratio": ratio,
        }
        p(
            f"| {f} | {s:.0f} | {s_wall:.0f} | {per[1_000]:.0f} | {per[10_000]:.0f} | "
            + (f"{ratio:.2f}" if ratio else "n/a")
            + " |"
        )
    py, ver = median(startup["python"]), median(startup["version"])
    p("")
    p(
        f"## Start-up: `rotation-tf --version` {ver * 1000:.0f} ms vs `python -c pass` {py * 1000:.0f} ms: **{ver / py:.2f}x**"
    )
    plan_rows = {}
    if plans:
        p("")
        p("## terraform plan -refresh=false (median seconds; every design over one shared function)")
        p("")
        p(
            "| secrets | generated | minimal (literal blocks) | minimal (for_each) | one function per secret | generated/minimal | for_each/minimal | per-secret/minimal | resources: generated / minimal / per-secret |"
        )
        p("| ---: " * 9 + "|")
        for n, r in plans.items():
            g, m = r["generated"]["median"], r["minimal"]["median"]
            fe = r.get("minimal_for_each")
            ps = r.get("per_secret")
            # runs of the two designs alternate, so run i of each saw the same load
            pairs = list(zip(r["generated"]["times"], r["minimal"]["times"], strict=True))
            cpu_pairs = list(zip(r["generated"].get("cpu", []), r["minimal"].get("cpu", []), strict=True))
            plan_rows[n] = {
                "generated_vs_minimal": g / m,
                "generated_vs_minimal_paired": median([a / b for a, b in pairs]),
                "generated_vs_minimal_paired_cpu": median([a / b for a, b in cpu_pairs]) if cpu_pairs else None,
                "pairs": len(pairs),
                "for_each_vs_minimal": (fe["median"] / m) if fe else None,
                "per_secret_vs_minimal": (ps["median"] / m) if ps else None,
            }
            p(
                f"| {int(n):,} | {g:.2f} | {m:.2f} | "
                + (f"{fe['median']:.2f}" if fe else "not run")
                + " | "
                + (f"{ps['median']:.2f}" if ps else "not run")
                + f" | {g / m:.2f} | "
                + (f"{fe['median'] / m:.2f}" if fe else "n/a")
                + " | "
                + (f"{ps['median'] / m:.2f}" if ps else "n/a")
                + f" | {r['generated']['resources']} / {r['minimal']['resources']} / "
                + (str(ps["resources"]) if ps else "-")
                + " |"
            )
    # targets
    big = [r for r in rows if r["secrets"] == max(args.sizes)]
    gen_fmt = max((r["generate_vs_fmt"] for r in big if r["generate_vs_fmt"]), default=None)
    # --check against generate: the two share every stage but the last (compare instead of
    # write), so they differ by a few percent, less than one process's run-to-run noise. The
    # verdict uses the median of the paired ratios (run i of --check over run i of generate,
    # which ran back to back) over every case of 1,000 secrets or more, not the worst of the
    # per-case medians: with 6 cases of 3 runs that maximum is mostly the noise's tail.
    paired = [
        (c.times["check"][i] / c.times["generate"][i], c.cpu["check"][i] / c.cpu["generate"][i])
        for c in cases
        if c.secrets >= 1000
        for i in range(min(len(c.times["check"]), len(c.times["generate"])))
    ]
    chk = median([w for w, _ in paired]) if paired else None
    chk_cpu = median([u for _, u in paired]) if paired else None
    chk_worst = max((r["check_vs_generate"] for r in rows if r["secrets"] >= 1000), default=None)
    gen_fmt_cpu = max((r["generate_vs_fmt_cpu"] for r in big if r["generate_vs_fmt_cpu"]), default=None)
    rss = max(r["peak_rss_mb"] for r in big)
    lin_ratio = max((v["ratio"] for v in lin.values() if v["ratio"] is not None), default=None)
    plan_ratio = plan_ratio_cpu = extra = None
    plan_pairs = 0
    if plans:
        largest = str(max(int(n) for n in plans))
        plan_ratio = plan_rows[largest]["generated_vs_minimal_paired"]
        plan_ratio_cpu = plan_rows[largest]["generated_vs_minimal_paired_cpu"]
        plan_pairs = plan_rows[largest]["pairs"]
        ns = sorted(int(n) for n in plans)
        if len(ns) >= 2:
            a, b = ns[-2], ns[-1]
            extra = (plans[str(b)]["generated"]["resources"] - plans[str(a)]["generated"]["resources"]) / (b - a)
    created_cost = resources_per_created_secret()
    T = TARGETS
    targets = {
        "generate_vs_fmt": {
            "value": gen_fmt,
            "cpu": gen_fmt_cpu,
            "target": f"<= {T['generate_vs_fmt']} at the largest size (worst function count)",
            "ok": None if gen_fmt is None else gen_fmt <= T["generate_vs_fmt"],
        },
        "check_vs_generate": {
            "value": chk,
            "cpu": chk_cpu,
            "worst_case_median": chk_worst,
            "pairs": len(paired),
            "target": f"<= {T['check_vs_generate']} at >= 1,000 secrets"
            + (f" (median of {len(paired)} paired runs; worst case's median {chk_worst:.2f})" if paired else ""),
            "ok": None if chk is None else chk <= T["check_vs_generate"],
        },
        "peak_rss_mb": {
            "value": rss,
            "target": f"< {T['peak_rss_mb']:.0f} MB at the largest size",
            "ok": rss < T["peak_rss_mb"],
        },
        "linearity": {
            "value": lin_ratio,
            "target": f"CPU per secret at 10,000 <= {T['linearity']}x that at 1,000",
            "ok": None if lin_ratio is None else lin_ratio <= T["linearity"],
        },
        "version_vs_python": {
            "value": ver / py,
            "target": f"< {T['version_vs_python']:.0f}x",
            "ok": ver / py < T["version_vs_python"],
        },
        "plan_vs_minimal": {
            "value": plan_ratio,
            "cpu": plan_ratio_cpu,
            "target": f"<= {T['plan_vs_minimal']} at the largest plan size (median of {plan_pairs} paired runs)",
            "ok": None if plan_ratio is None else plan_ratio <= T["plan_vs_minimal"],
        },
        "extra_resources_per_secret": {
            "value": extra,
            "target": f"== {T['extra_resources_per_secret']}",
            "ok": None if extra is None else extra == T["extra_resources_per_secret"],
        },
        "extra_resources_per_created_secret": {
            "value": created_cost,
            "target": f"== {T['extra_resources_per_created_secret']} (counted in the module examples/managed-secrets.yaml generates)",
            "ok": created_cost == T["extra_resources_per_created_secret"],
        },
    }
    p("")
    p("## Targets")
    p("")
    p("| target | value (wall clock) | same ratio in CPU time | goal | verdict (wall clock) |")
    p("| --- | ---: | ---: | --- | --- |")
    for k, t in targets.items():
        val, cpu = t["value"], t.get("cpu")
        p(
            f"| {k} | "
            + ("n/a" if val is None else f"{val:.2f}")
            + " | "
            + ("" if cpu is None else f"{cpu:.2f}")
            + f" | {t['target']} | {verdict(t['ok'])} |"
        )
    p("")
    p(f"Machine: {machine_text or machine()}; whole run {elapsed:.0f} s.")
    print("\n".join(lines))
    return {
        "machine": machine_text or machine(),
        "elapsed_s": elapsed,
        "cases": rows,
        "growth": lin,
        "startup": {"python_s": py, "version_s": ver, "ratio": ver / py, "runs": startup},
        "plans": plans,
        "plan_ratios": plan_rows,
        "targets": targets,
    }


def resources_per_created_secret() -> float:
    """Managed resources the module declares for each secret it creates (create: true),
    counted in the module rendered from examples/managed-secrets.yaml: the blocks named after
    a created secret. Ephemeral resources are not counted; they are never in the state."""
    sys.path.insert(0, str(ROOT))
    from generator import api, render

    module, _ = api.load(ROOT / "examples" / "managed-secrets.yaml")
    files = render.render(module, ROOT / "out" / module.name)
    declared = re.findall(r'^resource "\w+" "([\w-]+)"', "".join(files.values()), re.M)
    created = {s.ident for s in module.managed}
    return sum(1 for name in declared if name in created) / len(created)


def machine() -> str:
    cpu = "?"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    return f"{platform.system()} {platform.machine()}, {os.cpu_count()} cores ({cpu}), Python {platform.python_version()}, load average {load:.1f} at the end"


def rereport(args, saved: dict) -> int:
    """The report of a saved run, from its raw measurements (every run of every command)."""
    cases = []
    for r in saved["cases"]:
        c = Case(
            r["secrets"],
            r["functions"],
            Path("."),
            r["manifest_bytes"],
            r["output_bytes"],
            r["runs"],
            [int(r["peak_rss_mb"] * 1024)],
        )
        c.cpu = r["cpu_runs"]
        cases.append(c)
    args.sizes = tuple(sorted({c.secrets for c in cases}))
    startup = saved["startup"]["runs"]
    have_fmt = all(c.times.get("fmt") for c in cases)
    report(args, cases, startup, saved.get("plans"), have_fmt, saved["elapsed_s"], machine_text=saved["machine"])
    return 0


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="smaller sizes and fewer runs (about a minute)")
    ap.add_argument("--json", type=Path, help="also write the results as JSON here")
    ap.add_argument("--keep", type=Path, help="work in this folder and keep it (default: a temporary folder, removed)")
    ap.add_argument("--no-plan", action="store_true", help="skip the terraform plan comparison")
    ap.add_argument("--runs", type=int, default=None, help="runs per command (default 3; --quick 2)")
    ap.add_argument(
        "--full",
        action="store_true",
        help="also plan one function per secret and the for_each design at 1,000 secrets (adds ~2 minutes)",
    )
    ap.add_argument("--from-json", type=Path, help="print the report again from a saved --json run (no measuring)")
    ap.add_argument("--sizes", type=int, nargs="+", help="only these numbers of secrets (e.g. --sizes 10000)")
    ap.add_argument("--functions", type=int, nargs="+", help="only these numbers of functions")
    ap.add_argument("--tool", type=Path, help="the rotation-tf executable to measure (default: next to this Python)")
    args = ap.parse_args()
    # The pipeline is what this measures: generator.hookcache would answer --check and
    # validate from its cache right after generate. bench/hook.py measures the cache; its
    # cost in generate (hashing the written files) was within noise at 10,000 secrets.
    os.environ["ROTATION_TF_NO_CACHE"] = "1"
    if args.from_json:
        return rereport(args, json.loads(args.from_json.read_text()))
    args.sizes = tuple(args.sizes) if args.sizes else (10, 100, 1_000) if args.quick else SIZES
    args.functions = tuple(args.functions) if args.functions else (1, 20) if args.quick else FUNCTIONS
    args.plan_sizes = (10, 100) if args.quick else PLAN_SIZES
    args.runs = args.runs or (2 if args.quick else 3)
    args.startup_runs = 10 if args.quick else 20
    args.plan_runs_large = args.runs + 1  # a plan of 1,000 rotations takes about 10 s here
    args.plan_runs_small = min(args.runs, 2)
    args.per_secret_max = 1_000 if args.full else 100  # 5,000 resources: ~1.5 minutes a plan

    tool = (
        str(args.tool)
        if args.tool
        else shutil.which("rotation-tf", path=str(Path(sys.executable).parent)) or shutil.which("rotation-tf")
    )
    if tool is None:
        print("rotation-tf is not installed next to this Python; run: pip install -e '.[test]'", file=sys.stderr)
        return 2
    work = args.keep or Path(tempfile.mkdtemp(prefix="rotation-tf-bench-"))
    if args.keep:
        if work.exists():
            shutil.rmtree(work)
        work.mkdir(parents=True)
    start = time.perf_counter()
    try:
        tf = find_terraform(work)
        if tf is None:
            log("terraform not found: fmt and plan baselines are skipped")
        log("start-up")
        startup = bench_startup(args, tool, work)
        log("generate / --check / validate / fmt / floor")
        cases = bench_cases(args, work, tool, tf)
        plans = None
        if tf is not None and getattr(tf, "mirror", None) is not None and not args.no_plan:
            log("terraform plan")
            plans = bench_plans(args, work, tool, tf)
        elif not args.no_plan:
            log("no provider mirror: plan comparison skipped")
        result = report(args, cases, startup, plans, tf is not None, time.perf_counter() - start)
        if args.json:
            args.json.write_text(json.dumps(result, indent=2, default=str) + "\n")
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
