"""`rbdm study`: the study "when does relevance-based masking help?" (rbdm_core.study).

Every condition of the design (a world with one nuisance factor, or all of them, at a number of
training images per class) trains no mask, the paper's three masks (throughout and then
unmasked, with the zero and the noisy linear fill), the class-independent oracle mask (the
ceiling) and random masks of the same kept share (the floor), over the design's seeds; where the
oracle helps most, also the mask-quality dial and a weaker Trainer.

Writes OUT (default <run dir>/study-<profile>/study/): runs.csv, effects.csv, premise.csv,
curves.csv.gz, meta.json, the files chapter 9 of the book reads. Every step is cached in the run
folder; an interrupted study resumes. The measured time of `--profile standard` is in its
meta.json and the README.
"""

from __future__ import annotations

import argparse
import shlex
import sys

from rbdm_core.study_design import DESIGNS


def add_parser(subparsers) -> argparse.ArgumentParser:
    p = subparsers.add_parser("study", help="the study: when does relevance-based masking help?",
                              description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--profile", choices=list(DESIGNS), default="standard",
                   help="the study's design (standard: the committed study; quick: a few conditions, minutes)")
    p.add_argument("--workers", type=int, default=2, help="worker processes, one TensorFlow thread each (default 2)")
    p.add_argument("--run-dir", default=None, help="root of the run folders (default $RBDM_RUN_DIR or ./runs)")
    p.add_argument("--out", default=None, help="study folder to write (default <run dir>/study-<profile>/study)")
    p.add_argument("--no-progress", action="store_true", help="no progress bar on stderr")
    return p


def run(args) -> int:
    from rbdm_core import study  # deferred: keeps `rbdm --help` fast: study loads training, scipy and the whole pipeline (about 1 s)

    command = "rbdm study " + " ".join(shlex.quote(a) for a in sys.argv[2:]) if len(sys.argv) > 1 else None
    out = study.run(args.profile, run_dir=args.run_dir, out=args.out, workers=args.workers,
                    progress=not args.no_progress, command=command)
    res = study.load(out)
    print(f"study: {res.meta['runs']} runs in {res.meta['seconds'] / 60:.1f} min with {res.meta['workers']} workers; "
          f"written to {out}")
    return 0
