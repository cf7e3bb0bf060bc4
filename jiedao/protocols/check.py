"""Validate protocol files without Django: `python -m jiedao.protocols.check FILE.yaml [...]`.

`extends` is resolved against the file's own directory, then the shipped protocols, then any
`--dir`. Prints OK and a summary per file, or the error naming the key; exits 1 if any file fails."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from jiedao.core.errors import InvalidInput
from jiedao.protocols.loader import load_file

DATA_DIR = Path(__file__).resolve().parent / "data"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m jiedao.protocols.check", description=__doc__.splitlines()[0]
    )
    parser.add_argument("files", nargs="+", type=Path, help="protocol files (.yaml)")
    parser.add_argument(
        "--dir", action="append", default=[], type=Path, help="another directory to look up `extends` in"
    )
    args = parser.parse_args(argv)
    failed = 0
    for path in args.files:
        try:
            protocol = load_file(path, dirs=[DATA_DIR, *args.dir])
        except InvalidInput as exc:
            print(f"ERROR {exc.message}", file=sys.stderr)
            failed += 1
            continue
        extends = f", extends {protocol.extends}" if protocol.extends else ""
        print(
            f"OK {path}: {protocol.key} — {protocol.title_en} ({protocol.disease}, version {protocol.version}, "
            f"from {protocol.effective_from}{extends}; {len(protocol.categories)} categories)"
        )
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
