"""`python -m bench` (or `make bench`): run every benchmark module's `run()` and print figures.

A benchmark module is any `bench/<name>.py` not starting with an underscore that defines
`run()`; each measures its own baseline in the same run and prints both. `python -m bench NAME`
runs only the named modules. Nothing here asserts a time: speed targets are read, not tested.
"""

from __future__ import annotations

import importlib
import sys
import time
import traceback
from pathlib import Path

HERE = Path(__file__).resolve().parent


def modules(selected: list[str]) -> list[str]:
    names = sorted(p.stem for p in HERE.glob("*.py") if not p.stem.startswith("_"))
    return [n for n in names if not selected or n in selected]


def main(argv: list[str]) -> int:
    sys.path.insert(0, str(HERE.parent))
    failed = 0
    for name in modules(argv):
        module = importlib.import_module(f"bench.{name}")
        run = getattr(module, "run", None)
        if run is None:
            continue
        print(f"== {name} ==", flush=True)
        started = time.perf_counter()
        try:
            run()
        except Exception:  # one broken benchmark must not hide the others' figures
            traceback.print_exc()
            failed += 1
        print(f"-- {name}: {time.perf_counter() - started:.1f} s\n", flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
