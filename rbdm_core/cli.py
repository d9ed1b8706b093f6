"""The `rbdm` command line. Each subcommand lives in `rbdm_core.commands.<name>`, which
defines `add_parser(subparsers)` (returning its parser) and `run(args) -> int`."""

from __future__ import annotations

import argparse
import importlib
import os
import sys

from rbdm_core.artifacts import DiskFull
from rbdm_core.locks import FolderInUse

#: subcommand name -> module under rbdm_core.commands
COMMANDS = {
    "data": "data",
    "train": "train",
    "predict": "predict",
    "explain": "explain",
    "run": "run",
    "book": "book",
    "study": "study",
}


#: exit status after the reader of stdout closed the pipe (128 + SIGPIPE, as `seq 1 1e6 | head` gives)
SIGPIPE_EXIT = 141


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
        code = int(args._run(args) or 0)
        sys.stdout.flush()  # a closed pipe shows here, not at interpreter exit
        return code
    except BrokenPipeError:
        # the reader went away (`rbdm ... | head`): stop quietly, as Unix tools do; stdout goes to
        # /dev/null so that Python's final flush cannot raise again
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return SIGPIPE_EXIT
    except (ValueError, FileNotFoundError, KeyError) as exc:
        print(f"rbdm {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except (DiskFull, FolderInUse) as exc:  # a full disk, a folder another process writes
        print(f"rbdm {args.command}: error: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
