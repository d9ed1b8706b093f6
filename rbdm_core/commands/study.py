"""`rbdm study`: the nuisance study (rbdm_core.study) -- every Trainee variant against no mask at
several nuisance levels of the synthetic world, with the leak-free fill, over the profile's seeds.

Writes OUT (default <run dir>/<profile>/study/): curves.csv.gz, premise.csv, meta.json, the files
chapter 9 of the book reads (`rbdm_core.dose_response`). Every step is cached in the run folder;
an interrupted study resumes. The `standard` profile took 81 min on 2 CPU cores (`--levels 0 1`: two thirds).
"""

from __future__ import annotations

import argparse
import shlex
import sys


def add_parser(subparsers) -> argparse.ArgumentParser:
    from rbdm_core.profiles import PROFILES
    from rbdm_core.study import LEAK_FREE_FILL, LEVELS

    p = subparsers.add_parser("study", help="the nuisance study: all variants at several nuisance levels",
                              description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--profile", choices=[k for k, v in PROFILES.items() if v.synthetic], default="standard",
                   help="a synthetic profile (default standard: 5 seeds, 3,000 images per corpus, 6 epochs)")
    p.add_argument("--levels", type=float, nargs="+", default=list(LEVELS), metavar="L",
                   help=f"nuisance levels in [0, 1] (default {' '.join(f'{x:g}' for x in LEVELS)})")
    p.add_argument("--workers", type=int, default=2, help="worker processes, one TensorFlow thread each (default 2)")
    p.add_argument("--fill", default=LEAK_FREE_FILL, help=f"the leak-free fill of the second set (default {LEAK_FREE_FILL})")
    p.add_argument("--run-dir", default=None, help="root of the run folders (default $RBDM_RUN_DIR or ./runs)")
    p.add_argument("--out", default=None, help="study folder to write (default <run dir>/<profile>/study)")
    p.add_argument("--no-progress", action="store_true", help="no progress bar on stderr")
    return p


def run(args) -> int:
    from rbdm_core import study

    command = "rbdm study " + " ".join(shlex.quote(a) for a in sys.argv[2:]) if len(sys.argv) > 1 else None
    out = study.run(args.profile, levels=args.levels, run_dir=args.run_dir, out=args.out, workers=args.workers,
                    leak_free_fill=args.fill, progress=not args.no_progress, command=command)
    res = study.load(out)
    print(f"study: {res.meta['runs']} runs at nuisance levels {res.meta['levels']} in "
          f"{res.meta['seconds'] / 60:.1f} min with {res.meta['workers']} workers; written to {out}")
    return 0
