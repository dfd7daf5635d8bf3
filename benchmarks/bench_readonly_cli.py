"""Benchmark: `alvh signals show` against a bare ``python -c "import duckdb, polars"`` (issue 21
item 6: the read-only command takes at most 1.5 × the bare import).

Each round runs, each in a fresh process and in turn: (a) the bare import, (b) the installed
console script ``alvh signals show`` on a copy of the warehouse (only ``ALVH_HOME`` and
``ALVH_WAREHOUSE`` set), (c) the same with one more setting in the environment
(``ALVH_HTTP_RETRIES=3``, its default), which makes it load the full settings object, and with
``--baseline REV`` (d) (b) from the source of commit REV (a temporary git worktree on
``PYTHONPATH``, same interpreter and packages), so a change is measured against the code before it
in the same run.
One untimed warm-up of each comes first (the OS file cache). Prints every round, the median and
min–max of each, the ratios of the medians to (a), and the load average before and after; the
outputs of (b) and (c) are compared (a speed-up must not change what the command prints).

Run: ``.venv/bin/python benchmarks/bench_readonly_cli.py [--rounds 10] [--warehouse PATH]
[--baseline REV]``; needs a warehouse with a published session (default:
``warehouse/alvh.duckdb``, copied to a temporary folder so nothing is written there).
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
ALVH = Path(sys.executable).parent / "alvh"
BARE = [sys.executable, "-c", "import duckdb, polars"]
# the console script's own code (``from alvh.cli import main; sys.exit(main())``), run from a source tree
SCRIPT = "import sys; sys.argv[0] = 'alvh'; from alvh.cli import main; sys.exit(main())"


def run(cmd: list[str], env: dict[str, str], cwd: Path) -> tuple[float, str]:
    t = time.perf_counter()
    res = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True)
    dt = time.perf_counter() - t
    if res.returncode != 0:
        raise SystemExit(f"{' '.join(cmd[:3])} failed ({res.returncode}): {res.stderr.strip()[-800:]}")
    return dt, res.stdout


def load() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def summary(name: str, times: list[float], base: float | None) -> str:
    med = statistics.median(times)
    ratio = f" = {med / base:.2f}× the bare import" if base else ""
    return f"{name:<22} median {med:.3f} s ({min(times):.3f}–{max(times):.3f}){ratio}"


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=10)
    ap.add_argument("--warehouse", type=Path, default=ROOT / "warehouse" / "alvh.duckdb")
    ap.add_argument("--baseline", help="a commit to measure in the same rounds (its src/ on PYTHONPATH)")
    args = ap.parse_args()
    if not args.warehouse.is_file():
        raise SystemExit(f"no warehouse at {args.warehouse}: run `alvh run` first or pass --warehouse")
    with tempfile.TemporaryDirectory(prefix="alvh-bench-ro-") as tmp:
        work = Path(tmp)
        shutil.copy2(args.warehouse, work / "alvh.duckdb")
        env = {k: v for k, v in os.environ.items() if not k.startswith("ALVH_")}
        env |= {"ALVH_HOME": str(work), "ALVH_WAREHOUSE": str(work / "alvh.duckdb")}
        commands: dict[str, tuple[list[str], dict[str, str]]] = {
            "bare import": (BARE, env),
            "signals show": ([str(ALVH), "signals", "show"], env),
            "+ a setting": ([str(ALVH), "signals", "show"], env | {"ALVH_HTTP_RETRIES": "3"}),
        }
        if args.baseline:
            tree = work / "baseline"
            subprocess.run(
                ["git", "-C", str(ROOT), "worktree", "add", "--detach", str(tree), args.baseline],
                check=True,
                capture_output=True,
            )
            commands[f"at {args.baseline}"] = (
                [sys.executable, "-c", SCRIPT, "signals", "show"],
                env | {"PYTHONPATH": str(tree / "src")},
            )
        try:
            outputs = {name: run(cmd, e, work)[1] for name, (cmd, e) in commands.items()}  # warm-up
            if outputs["+ a setting"] != outputs["signals show"]:
                raise SystemExit("signals show prints something else with the full settings")
            if args.baseline and outputs["signals show"] != outputs[f"at {args.baseline}"]:
                raise SystemExit("signals show prints something else than at the baseline")
            times: dict[str, list[float]] = {name: [] for name in commands}
            print(f"load before: {load()}")
            for i in range(1, args.rounds + 1):
                line = []
                for name, (cmd, e) in commands.items():
                    dt, _ = run(cmd, e, work)
                    times[name].append(dt)
                    line.append(f"{name} {dt:.3f}")
                print(f"round {i:>2}: " + "  ".join(line), flush=True)
            print(f"load after:  {load()}")
            base = statistics.median(times["bare import"])
            for name, ts in times.items():
                print(summary(name, ts, None if name == "bare import" else base))
        finally:
            if args.baseline:
                subprocess.run(["git", "-C", str(ROOT), "worktree", "remove", "--force", str(work / "baseline")])


if __name__ == "__main__":
    main()
