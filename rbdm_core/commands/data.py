"""`rbdm data summary SOURCE ROOT`: read a corpus and print `split,label,count` as CSV on stdout.

SOURCE / ROOT:
  ferplus    ROOT = folder holding fer2013.csv and fer2013new.csv (or give --fer2013/--fer2013new)
  affectnet  ROOT = folder holding Manually_Annotated_file_lists/ and Manually_Annotated_Images/;
             counts come from the cleaned row list (image files are hashed, not decoded) unless
             --check-images, which decodes and crops every face into the cache
  ckplus     ROOT = folder holding cohn-kanade-images/ and Emotion/
  synthetic  ROOT = the synthetic domain name: ferplus_like, affectnet_like or ckplus_like
             (with --n and --seed)
  folder     ROOT = an image folder: ROOT/<label>/* or ROOT/<split>/<label>/* (label folders named
             after the classes or their synonyms: happy, angry, sad, surprised, fearful, disgusted,
             neutral, contempt, any case); counts come from the file names unless --check-images,
             which decodes every image
Dropped-row counts go to stderr (one line), with the progress bars; stdout is only the CSV table.
"""

from __future__ import annotations

import argparse
import json
import sys

#: the options of `rbdm data summary` each source's reader takes (`data.sources.DATA_SOURCES`)
SUMMARY_OPTIONS = {
    "ferplus": ("fer2013", "fer2013new", "rule", "progress"),
    "affectnet": ("size", "seed", "progress"),
    "ckplus": ("size", "progress"),
    "synthetic": ("n", "seed"),
    "folder": ("size", "progress"),
}
SOURCES = tuple(SUMMARY_OPTIONS)


def add_parser(subparsers) -> argparse.ArgumentParser:
    p = subparsers.add_parser("data", help="inspect the data sets", description="Inspect the data sets.")
    sub = p.add_subparsers(dest="data_command", required=True, metavar="ACTION")
    s = sub.add_parser(
        "summary",
        help="print images per split and class as CSV (split,label,count)",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    s.add_argument("source", choices=SOURCES, metavar="SOURCE", help=f"one of {', '.join(SOURCES)}")
    s.add_argument("root", metavar="ROOT", help="data folder (for synthetic: the domain name)")
    s.add_argument("--rule", choices=("paper", "ferplus-majority"), default="paper",
                   help="FERPlus labelling rule (default: paper)")
    s.add_argument("--fer2013", default=None, help="path of fer2013.csv (default ROOT/fer2013.csv)")
    s.add_argument("--fer2013new", default=None, help="path of fer2013new.csv (default ROOT/fer2013new.csv)")
    s.add_argument("--size", type=int, default=96, help="image side in pixels (affectnet, ckplus; default 96)")
    s.add_argument("--seed", type=int, default=0, help="seed (synthetic data; AffectNet duplicate choice)")
    s.add_argument("--n", type=int, default=None, help="number of synthetic images (default: the domain's)")
    s.add_argument("--check-images", action="store_true",
                   help="affectnet: decode and crop every image (fills the cache) instead of only hashing; "
                   "folder: decode every image")
    s.add_argument("--no-progress", action="store_true", help="no progress bar on stderr")
    return p


def load(args: argparse.Namespace):
    """(counts DataFrame split,label,count; provenance dict) for the parsed arguments."""
    from rbdm_core.data.sources import count_source  # deferred: keeps `rbdm --help` fast: data.sources loads the readers, PIL and tqdm

    if args.source not in SUMMARY_OPTIONS:  # argparse prevents this
        raise ValueError(f"SOURCE: expected one of {SOURCES}, got {args.source!r}")
    if args.source == "synthetic" and args.n is not None and args.n < 1:
        raise ValueError(f"--n: expected a positive number of images, got {args.n}")
    values = {**vars(args), "progress": not args.no_progress}
    options = {k: values[k] for k in SUMMARY_OPTIONS[args.source]}
    return count_source(args.source, args.root, decode=args.check_images, **options)


def run(args: argparse.Namespace) -> int:
    if args.data_command != "summary":  # pragma: no cover - argparse requires a known action
        raise ValueError(f"rbdm data: unknown action {args.data_command!r}")
    counts, prov = load(args)
    if "dropped" in prov:
        print(f"{args.source}: dropped {json.dumps(prov['dropped'], sort_keys=True)}", file=sys.stderr)
    counts.to_csv(sys.stdout, index=False, lineterminator="\n")
    return 0


__all__ = ["add_parser", "run", "load", "SOURCES"]
