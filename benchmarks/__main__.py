"""`make bench`: run every benchmark in its own process against a fresh database, write
benchmarks/results/<name>.json and print a table. Each benchmark measures the work and, in the
same run, its baseline or limit, and reports the ratio."""

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


def main(argv: list[str]) -> int:
    names = argv or sorted(p.stem for p in HERE.glob("bench_*.py"))
    RESULTS.mkdir(exist_ok=True)
    rows = []
    failed = 0
    for name in names:
        with tempfile.TemporaryDirectory(prefix=f"jiedao-{name}-") as tmp:
            env = {**os.environ, "JIEDAO_VAR_DIR": tmp, "JIEDAO_DEBUG": "1", "JIEDAO_LOG_LEVEL": "WARNING"}
            env.pop("DATABASE_URL", None)
            out = Path(tmp) / "result.json"
            started = time.perf_counter()
            proc = subprocess.run([sys.executable, "-m", f"benchmarks.{name}", str(out)], env=env, cwd=HERE.parent)
            if proc.returncode != 0 or not out.exists():
                print(f"{name}: FAILED (exit {proc.returncode})", file=sys.stderr)
                failed += 1
                continue
            result = json.loads(out.read_text())
            result["wall_seconds"] = round(time.perf_counter() - started, 1)
            (RESULTS / f"{name}.json").write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n")
            for row in result["rows"]:
                rows.append((name, *row))
    print("\n| benchmark | measure | value | baseline / limit | ratio |\n|---|---|---|---|---|")
    for name, measure, value, base, ratio in rows:
        print(f"| {name} | {measure} | {value} | {base} | {ratio} |")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
