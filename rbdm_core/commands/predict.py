"""`rbdm predict --model NAME_OR_PATH IMAGE...`: classify image files, CSV `path,label,probability`.

NAME_OR_PATH is a built-in model (fer2013-pretrained) or a folder written by `rbdm train` /
`rbdm_core.models.save_bundle`. Images of any size, colour or grayscale, are converted to the
model's channels and resized as the model's preprocessing says. label = the most probable class
(FERPlus name), probability = its softmax probability.
"""

from __future__ import annotations

import argparse
import csv
import sys


def add_parser(subparsers) -> argparse.ArgumentParser:
    p = subparsers.add_parser("predict", help="classify image files with a model", description=__doc__,
                              formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", required=True, help="fer2013-pretrained or a saved model folder")
    p.add_argument("images", nargs="+", metavar="IMAGE", help="image files (PNG, JPEG, ...)")
    p.add_argument("--batch-size", type=int, default=64)
    return p


def read_images(paths, channels: int):
    """List of (H, W, C) uint8 arrays in the model's channel count (sizes may differ)."""
    from rbdm_core.data.images import open_image, to_array

    return [to_array(open_image(p, channels=channels)) for p in paths]


def run(args: argparse.Namespace) -> int:
    import numpy as np

    from rbdm_core.models import load_bundle

    bundle = load_bundle(args.model)
    images = read_images(args.images, bundle.preprocess.channels)
    w = csv.writer(sys.stdout, lineterminator="\n")
    w.writerow(["path", "label", "probability"])
    for path, img in zip(args.images, images):  # sizes differ: one image at a time
        p = bundle.predict_proba(img[None])[0]
        k = int(np.argmax(p))
        w.writerow([path, bundle.class_names[k], f"{float(p[k]):.6f}"])
    return 0
