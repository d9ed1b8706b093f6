"""`rbdm predict --model NAME_OR_PATH IMAGE...`: classify image files, CSV `path,label,probability`.

NAME_OR_PATH is a built-in model (fer2013-pretrained) or a folder written by `rbdm train` /
`rbdm_core.models.save_bundle`. Images of any size, colour or grayscale, are converted to the
model's channels and resized as the model's preprocessing says. label = the most probable class
(FERPlus name), probability = its softmax probability. A folder given as IMAGE stands for its image
files. A file that cannot be read (missing, empty, truncated, not an image) is named on stderr and
skipped; the others are still classified, and the exit status is 1 when anything was skipped (2,
with no output, when nothing could be read).
"""

from __future__ import annotations

import argparse
import csv
import sys


def add_parser(subparsers) -> argparse.ArgumentParser:
    p = subparsers.add_parser("predict", help="classify image files with a model", description=__doc__,
                              formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", required=True, help="fer2013-pretrained or a saved model folder")
    p.add_argument("images", nargs="+", metavar="IMAGE", help="image files (PNG, JPEG, ...) or folders of them")
    p.add_argument("--batch-size", type=int, default=64)
    return p


def read_inputs(command: str, paths, channels: int):
    """(arrays, paths, skipped count) of the readable images among `paths` (folders expanded);
    every skipped file is named on stderr. Raises ValueError when none can be read."""
    from rbdm_core.data.images import expand_inputs, read_images

    files, notes = expand_inputs(paths)
    for note in notes:
        print(f"rbdm {command}: {note}", file=sys.stderr)
    arrays, ok, skipped = read_images(files, channels)
    for path, reason in skipped:
        print(f"rbdm {command}: skipped {path}: {reason}", file=sys.stderr)
    if not arrays:
        raise ValueError(f"none of the {len(files)} image file(s) could be read" if files else
                         "no image files among the inputs")
    return arrays, ok, len(skipped)


def run(args: argparse.Namespace) -> int:
    import numpy as np

    from rbdm_core.models import load_bundle

    bundle = load_bundle(args.model)
    images, paths, n_skipped = read_inputs("predict", args.images, bundle.preprocess.channels)
    w = csv.writer(sys.stdout, lineterminator="\n")
    w.writerow(["path", "label", "probability"])
    for path, img in zip(paths, images):  # sizes differ: one image at a time
        p = bundle.predict_proba(img[None])[0]
        k = int(np.argmax(p))
        w.writerow([str(path), bundle.class_names[k], f"{float(p[k]):.6f}"])
    if n_skipped:
        print(f"rbdm predict: {n_skipped} file(s) skipped, {len(paths)} classified", file=sys.stderr)
    return 1 if n_skipped else 0
