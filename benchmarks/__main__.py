"""Run the benchmarks: `python -m benchmarks [NAME ...]` (NAME = data, training, saliency, masks...).

Each `benchmarks/bench_<name>.py` defines `main() -> None` and prints its figures, with ratios
measured side by side in one run on this machine. Nothing here asserts a time.
"""

import importlib
import pkgutil
import sys
from pathlib import Path


def main(argv: list[str]) -> int:
    here = Path(__file__).parent
    names = sorted(m.name[len("bench_"):] for m in pkgutil.iter_modules([str(here)]) if m.name.startswith("bench_"))
    chosen = argv or names
    for name in chosen:
        if name not in names:
            print(f"unknown benchmark {name!r}; available: {', '.join(names)}", file=sys.stderr)
            return 2
        print(f"=== benchmark: {name}", flush=True)
        importlib.import_module(f"benchmarks.bench_{name}").main()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
