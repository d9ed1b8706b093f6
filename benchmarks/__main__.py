"""Run the benchmarks: `python -m benchmarks [NAME [--option VALUE ...] ...]` (NAME = readers, masks...).

Each `benchmarks/bench_<name>.py` defines `main() -> None` and prints its figures, with ratios
measured side by side in one run on this machine. Nothing here asserts a time. Words after a NAME
that are not themselves benchmark names are passed to that benchmark as `main(argv)` (e.g.
`python -m benchmarks affectnet_scale --n 20000`).
"""

import importlib
import inspect
import pkgutil
import sys
from pathlib import Path


def main(argv: list[str]) -> int:
    here = Path(__file__).parent
    names = sorted(m.name[len("bench_"):] for m in pkgutil.iter_modules([str(here)]) if m.name.startswith("bench_"))
    chosen: list[tuple[str, list[str]]] = []
    for word in argv:
        if word in names:
            chosen.append((word, []))
        elif chosen and (word.startswith("-") or chosen[-1][1]):
            chosen[-1][1].append(word)
        else:
            print(f"unknown benchmark {word!r}; available: {', '.join(names)}", file=sys.stderr)
            return 2
    modules = {name: importlib.import_module(f"benchmarks.bench_{name}") for name, _ in chosen}
    for name, args in chosen:
        if args and not inspect.signature(modules[name].main).parameters:
            print(f"benchmark {name!r} takes no options, got {' '.join(args)}", file=sys.stderr)
            return 2
    for name, args in chosen or [(n, []) for n in names]:
        print(f"=== benchmark: {name}", flush=True)
        module = modules.get(name) or importlib.import_module(f"benchmarks.bench_{name}")
        module.main(args) if args else module.main()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
