"""The `rbdm` command line. Each subcommand lives in `rbdm_core.commands.<name>`, which
defines `add_parser(subparsers)` (returning its parser) and `run(args) -> int`."""

from __future__ import annotations

import argparse
import importlib
import sys

#: subcommand name -> module under rbdm_core.commands
COMMANDS = {
    "data": "data",
    "train": "train",
    "predict": "predict",
    "explain": "explain",
    "run": "run",
    "book": "book",
}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="rbdm",
        description="Relevance-based data masking: data, training, relevance, masks and the book.",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name, module in COMMANDS.items():
        try:
            mod = importlib.import_module(f"rbdm_core.commands.{module}")
        except ModuleNotFoundError as exc:  # a command not built yet
            if exc.name != f"rbdm_core.commands.{module}":
                raise
            continue
        p = mod.add_parser(sub)
        p.set_defaults(_run=mod.run)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args._run(args) or 0)
    except (ValueError, FileNotFoundError, KeyError) as exc:
        print(f"rbdm {args.command}: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
