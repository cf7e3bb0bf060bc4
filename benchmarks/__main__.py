"""`make bench`: run every benchmark in its own process against a fresh database, write
benchmarks/results/<name>.json and print a table. Each benchmark measures the work and, in the
same run, its baseline or limit, and reports the ratio.

    python -m benchmarks                                   # all, full sizes, results saved
    python -m benchmarks bench_lookup                      # one (the `bench_` prefix is optional)
    python -m benchmarks import lookup --rows 200 --persons 2000   # quick try: options go to every
                                                           # benchmark; results are printed, not saved
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).parent
RESULTS = HERE / "results"


def split_args(argv: list[str]) -> tuple[list[str], list[str]]:
    """Benchmark names, and the options (`--rows 200` or `--rows=200`) passed on to each benchmark."""
    names: list[str] = []
    extra: list[str] = []
    args = iter(argv)
    for arg in args:
        if arg.startswith("-"):
            extra.append(arg)
            if "=" not in arg:
                extra.append(next(args, ""))
        else:
            names.append(arg if arg.startswith("bench_") else f"bench_{arg}")
    return names, extra


def main(argv: list[str]) -> int:
    names, extra = split_args(argv)
    names = names or sorted(p.stem for p in HERE.glob("bench_*.py"))
    unknown = [n for n in names if not (HERE / f"{n}.py").exists()]
    if unknown:
        print(f"no such benchmark: {', '.join(unknown)}", file=sys.stderr)
        return 2
    # Results at other sizes than the defaults are a quick try: print them, keep the saved ones.
    save = not extra
    RESULTS.mkdir(exist_ok=True)
    rows = []
    failed = 0
    for name in names:
        print(f"{name} …", flush=True)
        with tempfile.TemporaryDirectory(prefix=f"jiedao-{name}-") as tmp:
            env = {**os.environ, "JIEDAO_VAR_DIR": tmp, "JIEDAO_DEBUG": "1", "JIEDAO_LOG_LEVEL": "WARNING"}
            env.pop("DATABASE_URL", None)
            out = Path(tmp) / "result.json"
            started = time.perf_counter()
            proc = subprocess.run(
                [sys.executable, "-m", f"benchmarks.{name}", str(out), *extra], env=env, cwd=HERE.parent
            )
            if proc.returncode != 0 or not out.exists():
                print(f"{name}: FAILED (exit {proc.returncode})", file=sys.stderr)
                failed += 1
                continue
            result = json.loads(out.read_text())
            result["wall_seconds"] = round(time.perf_counter() - started, 1)
            if save:
                (RESULTS / f"{name}.json").write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n")
            for row in result["rows"]:
                rows.append((name, *row))
    print("\n| benchmark | measure | value | baseline / limit | ratio |\n|---|---|---|---|---|")
    for name, measure, value, base, ratio in rows:
        print(f"| {name.removeprefix('bench_')} | {measure} | {value} | {base} | {ratio} |")
    if not save:
        print(f"\n(options {' '.join(extra)}: results not saved to {RESULTS.relative_to(HERE.parent)}/)")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
