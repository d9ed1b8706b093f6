"""Image files -> uint8 arrays: load (with a clear error), crop a box, resize.

Shared by the AffectNet and CK+ readers. Images are `(H, W, C) uint8` with C = 1 (grayscale)
or 3 (RGB); boxes are in pixels, `(x, y, width, height)` with (x, y) the top-left corner.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import numpy as np
from PIL import Image, UnidentifiedImageError

#: PIL resampling filter used for every resize (antialiased; good for downscaling faces).
RESAMPLE = Image.Resampling.BILINEAR


def _check_channels(channels: int) -> int:
    if channels not in (1, 3):
        raise ValueError(f"channels: expected 1 (grayscale) or 3 (RGB), got {channels!r}")
    return channels


def _check_size(size) -> tuple[int, int]:
    """`size` as (height, width); an int means a square."""
    given = size
    if isinstance(size, (int, np.integer)):
        size = (int(size), int(size))
    try:
        h, w = (int(v) for v in size)
    except (TypeError, ValueError):
        h = w = 0
    if h < 1 or w < 1:
        raise ValueError(f"size: expected a positive int or (height, width) of positive ints, got {given!r}")
    return h, w


def open_image(path: str | os.PathLike, channels: int = 1, *, what: str = "") -> Image.Image:
    """Open an image file as a PIL image in mode "L" (channels=1) or "RGB" (channels=3).

    16-bit images are scaled to 8 bit (value >> 8). `what` is prepended to error messages
    (e.g. "training.csv row 12: ") so that they name the row that referenced the file.
    Raises FileNotFoundError for a missing file, ValueError for one that cannot be decoded.
    """
    _check_channels(channels)
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{what}image file {path} does not exist (expected a PNG or JPEG file)")
    try:
        with Image.open(path) as im:
            im.load()
            if im.mode in ("I;16", "I;16B", "I;16L", "I"):
                arr = np.asarray(im, dtype=np.int64)
                if im.mode != "I" or arr.max(initial=0) > 255:
                    arr = arr >> 8
                im = Image.fromarray(np.clip(arr, 0, 255).astype(np.uint8), mode="L")
            return im.convert("L" if channels == 1 else "RGB")
    except (UnidentifiedImageError, OSError, SyntaxError) as exc:
        raise ValueError(f"{what}image file {path} could not be read as an image ({exc})") from None


def to_array(im: Image.Image) -> np.ndarray:
    """PIL image in mode L or RGB -> `(H, W, C) uint8`."""
    arr = np.asarray(im, dtype=np.uint8)
    return arr[:, :, None] if arr.ndim == 2 else arr


def crop_box(im: Image.Image, box: tuple[int, int, int, int], *, what: str = "") -> Image.Image:
    """Crop `box = (x, y, width, height)` (pixels, top-left corner) out of `im`.

    Raises ValueError when the box has a non-positive side or is not inside the image.
    """
    x, y, w, h = (int(v) for v in box)
    W, H = im.size
    if w <= 0 or h <= 0:
        raise ValueError(f"{what}face box (x={x}, y={y}, width={w}, height={h}) has a non-positive side")
    if x < 0 or y < 0 or x + w > W or y + h > H:
        raise ValueError(
            f"{what}face box (x={x}, y={y}, width={w}, height={h}) lies outside the image of "
            f"width {W} and height {H} (expected 0 <= x, x + width <= {W}, 0 <= y, y + height <= {H})"
        )
    return im.crop((x, y, x + w, y + h))


def center_square(im: Image.Image) -> Image.Image:
    """The largest centred square of `im` (keeps the aspect ratio when resizing to a square)."""
    W, H = im.size
    s = min(W, H)
    left, top = (W - s) // 2, (H - s) // 2
    return im.crop((left, top, left + s, top + s))


def resize(im: Image.Image, size) -> np.ndarray:
    """Resize to `size` (int or (height, width)) and return `(h, w, C) uint8`."""
    h, w = _check_size(size)
    if im.size != (w, h):
        im = im.resize((w, h), RESAMPLE)
    return to_array(im)


def file_sha1(path: str | os.PathLike, chunk: int = 1 << 20) -> str:
    """Hex SHA-1 of a file's bytes (used to find the same image stored under two names)."""
    h = hashlib.sha1()
    with open(path, "rb") as fh:
        while True:
            block = fh.read(chunk)
            if not block:
                break
            h.update(block)
    return h.hexdigest()


#: File extensions a folder given as an input is expanded to (compared case-insensitively).
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp", ".gif")


def expand_inputs(paths, suffixes=IMAGE_SUFFIXES, what: str = "images") -> tuple[list[Path], list[str]]:
    """Input paths with every folder replaced by its files with one of `suffixes` (recursively,
    sorted; default: images). Returns (paths, notes): a note per folder that held other files
    (ignored) or none of those (`what` names them in the notes)."""
    out: list[Path] = []
    notes: list[str] = []
    for p in map(Path, paths):
        if p.is_dir():
            files = sorted(f for f in p.rglob("*") if f.is_file() and not f.name.startswith("."))
            imgs = [f for f in files if f.suffix.lower() in suffixes]
            if len(imgs) < len(files):
                notes.append(f"{p}: {len(files) - len(imgs)} file(s) that are not {what} ignored")
            if not imgs:
                notes.append(f"{p}: a folder with no {what} ({', '.join(suffixes)})")
            out += imgs
        else:
            out.append(p)
    return out, notes


def read_images(paths, channels: int = 1) -> tuple[list[np.ndarray], list[Path], list[tuple[Path, str]]]:
    """Read every image that can be read: (arrays (H, W, C) uint8, their paths, [(path, reason)]
    of those skipped: missing, empty, truncated or not an image). Never raises for one bad file."""
    arrays, ok, skipped = [], [], []
    for p in map(Path, paths):
        try:
            arrays.append(to_array(open_image(p, channels=channels)))
            ok.append(p)
        except (FileNotFoundError, ValueError) as exc:
            skipped.append((p, str(exc)))
    return arrays, ok, skipped


def convert_channels(image: np.ndarray, channels: int) -> np.ndarray:
    """`(H, W, 1|3) uint8` -> `(H, W, channels) uint8` as `open_image` converts a file (PIL's
    "L" / "RGB" conversion), so a crop of an RGB image equals the same crop read as gray."""
    _check_channels(channels)
    a = np.asarray(image, dtype=np.uint8)
    if a.shape[-1] == channels:
        return a
    im = Image.fromarray(a[..., 0] if a.shape[-1] == 1 else a, mode="L" if a.shape[-1] == 1 else "RGB")
    return to_array(im.convert("L" if channels == 1 else "RGB"))
