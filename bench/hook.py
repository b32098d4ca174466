"""The pre-commit hook's latency, as a ratio against its own dependencies' floor.

    .venv/bin/python bench/hook.py [--runs 21] [--json results.json]

A hook runs ``rotation-tf generate --check`` (or ``validate``) on a small manifest on every
commit that touches one, so what matters is the fixed cost of a process: start-up, imports,
templates. The floor is ``python -c "import yaml, jinja2"``: the interpreter plus the two
libraries that reading a manifest and writing Terraform cannot do without. Issue 14's
target: both commands at most 2.5 times the floor.

Each command runs twice over: with the result cache of :mod:`generator.hookcache` warm (the
hook's common case: the manifest is unchanged since ``generate`` or the last run) and with
``ROTATION_TF_NO_CACHE=1`` (a manifest it has not seen). The commands run as separate
processes, interleaved (one of each, then the next round in rotated order) so that load on the shared machine hits them alike; each
figure is the median of ``--runs`` rounds, and the ratio is the median of the per-round
ratios (paired, so a busy moment cancels out). Not part of the test suite.

An installed hook (pre-commit's virtualenv, pipx, a wheel) has byte-compiled modules, like
the floor's yaml and jinja2; so the children run without PYTHONDONTWRITEBYTECODE, and the
warm-up runs write the ``__pycache__`` folders of an editable checkout. Jinja's compiled
template cache is warm too, as after a hook's first run.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from run import run_rss  # noqa: E402

TARGET = 2.5

MANIFEST = """\
version: 1
account_id: "111122223333"
region: us-east-1
functions:
  pg:
    strategy: single_user
    engine: postgresql
    existing_function_arn: arn:aws:lambda:us-east-1:111122223333:function:PgRotator
  mysql:
    strategy: alternating_users
    engine: mysql
    existing_function_arn: arn:aws:lambda:us-east-1:111122223333:function:MysqlRotator
secrets:
  app/pg:
    function: pg
    kms_key_arn: arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab
    schedule: {every_days: 7}
  app/mysql:
    function: mysql
    master_secret:
      arn: arn:aws:secretsmanager:us-east-1:111122223333:secret:app/mysql-master-AbCdEf
    schedule: {expression: "cron(0 4 ? * SUN *)", window: 3h}
"""


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--runs", type=int, default=21, help="paired rounds (default 21)")
    ap.add_argument("--json", type=Path, help="also write the results as JSON here")
    ap.add_argument("--tool", type=Path, help="the rotation-tf executable to measure (default: next to this Python)")
    args = ap.parse_args()
    tool = str(args.tool) if args.tool else shutil.which("rotation-tf", path=str(Path(sys.executable).parent))
    if tool is None:
        print("rotation-tf is not installed next to this Python; run: pip install -e '.[test]'", file=sys.stderr)
        return 2
    work = Path(tempfile.mkdtemp(prefix="rotation-tf-hook-"))
    try:
        env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
        (work / "two.yaml").write_text(MANIFEST)
        subprocess.run([tool, "generate", "two.yaml"], cwd=work, check=True, capture_output=True, env=env)
        env["ROTATION_TF_CACHE_DIR"] = str(work / "cache")
        cold = dict(env, ROTATION_TF_NO_CACHE="1")
        commands = {
            "floor": ([sys.executable, "-c", "import yaml, jinja2"], env),
            "check": ([tool, "generate", "--check", "two.yaml"], env),
            "validate": ([tool, "validate", "two.yaml"], env),
            "check_uncached": ([tool, "generate", "--check", "two.yaml"], cold),
            "validate_uncached": ([tool, "validate", "two.yaml"], cold),
        }
        for cmd, cmd_env in commands.values():  # warm the page cache, byte code and result caches
            subprocess.run(cmd, cwd=work, check=True, capture_output=True, env=cmd_env)
        times: dict[str, list[float]] = {k: [] for k in commands}
        order = list(commands)
        for i in range(args.runs):
            for name in order[i % len(order) :] + order[: i % len(order)]:
                cmd, cmd_env = commands[name]
                times[name].append(run_rss(cmd, work, cmd_env).seconds)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    med = {k: statistics.median(v) for k, v in times.items()}
    measured = [k for k in times if k != "floor"]
    ratios = {k: statistics.median(t / f for t, f in zip(times[k], times["floor"], strict=True)) for k in measured}
    labels = {
        "check": "generate --check, result cached (after generate)",
        "validate": "validate, result cached (second run)",
        "check_uncached": "generate --check, ROTATION_TF_NO_CACHE=1",
        "validate_uncached": "validate, ROTATION_TF_NO_CACHE=1",
    }
    print(f"{args.runs} paired rounds on a two-function manifest (medians)")
    print(f"  {'floor: python -c import yaml, jinja2':50} {med['floor'] * 1000:6.0f} ms")
    for k in measured:
        verdict = "meets" if ratios[k] <= TARGET else "misses"
        print(f"  {labels[k]:50} {med[k] * 1000:6.0f} ms  {ratios[k]:.2f}x floor ({verdict} <= {TARGET}x)")
    if args.json:
        args.json.write_text(
            json.dumps(
                {"runs": args.runs, "median_s": med, "ratio": ratios, "target": TARGET, "samples_s": times}, indent=2
            )
            + "\n"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
