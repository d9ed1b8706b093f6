"""`rbdm` subcommands: one module each, with add_parser(subparsers) and run(args)."""

from rbdm_core.chapters import CELL_TIMEOUT_S, check_cell_timeout as _check_cell_timeout
from rbdm_core.profiles import get_profile


def add_execution_options(p, parameter_help: str) -> None:
    """The options `rbdm run` and `rbdm book` share: -p NAME VALUE, --profile, --run-dir,
    --cell-timeout, --no-progress, --kernels."""
    p.add_argument("-p", "--parameter", nargs=2, action="append", metavar=("NAME", "VALUE"), default=[],
                   help=parameter_help)
    p.add_argument("--profile", default="quick", metavar="NAME_OR_FILE",
                   help="quick: embedded synthetic data, small models (default); paper: real corpora, paper sizes; "
                   "standard: the nuisance study's sizes; or a profile file (YAML: base: NAME, any profile field, "
                   "roots: {ferplus: DIR, affectnet: DIR, ckplus: DIR, folder: DIR}; folder, an image folder "
                   "ROOT/[<split>/]<label>/*, replaces FERPlus as the Trainee's corpus; the run folder is named after "
                   "its stem)")
    p.add_argument("--run-dir", default=None, help="root of the run folders (default $RBDM_RUN_DIR or ./runs)")
    p.add_argument("--cell-timeout", type=int, default=CELL_TIMEOUT_S, metavar="S",
                   help=f"seconds allowed per cell (default {CELL_TIMEOUT_S})")
    p.add_argument("--no-progress", action="store_true", help="no per-cell progress bar on stderr")
    p.add_argument("--kernels", choices=("portable", "native"), default=None,
                   help="portable: CPU kernels and threads pinned so results are the same bits on any x86-64 "
                   "CPU with AVX2 (default for the quick profile); native: the machine's own choice, faster on "
                   "many cores (default for the paper profile); see docs/determinism.md")


def kernels_for(args) -> str:
    """--kernels, or the profile's default: portable for the synthetic profiles, native for the real corpora."""
    if args.kernels:
        return args.kernels
    return "portable" if get_profile(args.profile).synthetic else "native"


def check_cell_timeout(args) -> None:
    """--cell-timeout checked before anything runs (`chapters.check_cell_timeout`)."""
    _check_cell_timeout(args.cell_timeout, "--cell-timeout")
