"""Recorded gaze: a lab's fixation table or raw gaze samples, in place of the simulated annotators.

Two readers return a `GazeRecording`, shaped like the simulated study
(`rbdm_core.data.annotators.GazeStudy`) so that every consumer (heatmaps, Table 1, the perceptive
mask's n) takes either:

* `read_fixation_table(csv, images)`: one row per fixation.
* `read_gaze_samples(path, images)`: tracker samples read with pymovements
  (`pymovements.gaze.from_csv` / `from_ipc` / `from_asc`): a CSV or Arrow IPC table, an EyeLink
  ASC file, or a folder of ASC files (one per participant); fixations by pymovements' I-DT
  (`pymovements.events.idt`) per participant and image.
* `read_gaze_recording(path, images)`: either of them, chosen by `recording_kind` (a CSV with a
  `duration_ms` column is a fixation table; one with `t_ms` is raw samples; `.feather`, `.arrow`,
  `.ipc` and `.asc` files and folders are raw samples).

Files
-----
Fixation table (CSV, header row, extra columns ignored):

    participant,image_id,x,y,start_ms,duration_ms
    p01,S005/001/last,1268.5,702.0,0,310
    p01,S005/001/last,1190.0,640.2,340,250

Raw samples (CSV or Arrow IPC): `participant, image_id, t_ms, x, y` (t_ms from any origin, ms;
an empty x or y is a lost sample).

* participant: any text; participants become annotators 0, 1, ... in sorted order (the
  recording's `annotators` table maps them back).
* image_id: the id of a gaze-study image, `Dataset.ids` of `Pipeline.gaze_images`: for CK+ (and the
  CK+-like synthetic images) `<subject>/<sequence>/first` or `.../last`, e.g. `S005/001/last`
  (`data.ckplus.read_ckplus`: the sequence's first and last frame).
* x, y: screen pixels (x right, y down, origin the screen's top-left corner) or, with
  `units: image`, pixels of the image as given by `image_size`, pixel-centre coordinates as in
  `gaze.geometry` (pixel (row, col) is centred at (x, y) = (col, row) and covers +-0.5).
* start_ms, duration_ms: ms (duration > 0).

EyeLink ASC (`edf2asc` output; monocular, or binocular: the right eye): the participant is the
file's stem (`P01.asc` -> P01); the image is named by the message that starts a trial, by default
`MSG <t> TRIALID <image_id>`, and the trial ends at `MSG <t> TRIAL_END` (the sidecar's `asc:`
changes both regular expressions; samples outside a trial are left out and counted); x, y are the
tracker's screen pixels, t_ms its clock.

The Eye Tribe ET1000 (the paper's tracker) as PyGaze's back-end logs it (`pytribe`: a `.tsv` file
per participant, or a folder of them; the participant is the file's stem): a header row
`timestamp, time, fix, state, rawx, rawy, avgx, avgy, psize, Lrawx, ..., Rpupily` (tab-separated,
23 columns), one row per frame, and message rows `MSG <timestamp> <time> <message>`. t_ms is
`time` (the tracker's ms); x, y are the smoothed `avgx, avgy` (default) or `rawx, rawy`
(sidecar `eyetribe: {signal: raw}`), screen pixels; a frame whose `state` lacks the
gaze-tracked bit (1) is a lost sample (the tracker writes 0, 0 there). Images are marked by the
same messages as in an ASC file (the sidecar's `asc:` patterns, default `TRIALID <image_id>` ...
`TRIAL_END`). Fixations come from pymovements' I-DT (default), or with `eyetribe: {fixations:
tracker}` from the tracker's own `fix` flag: each run of frames flagged True within an image is
one fixation (the median of its samples, its duration last - first frame time).

Geometry sidecar: a YAML (or JSON) file beside the data, with the data file's stem:
`fixations.csv` -> `fixations.yml` (or `.yaml`, `.json`); for a folder of ASC files,
`geometry.yml` inside it:

    screen: [2560, 1440]            # screen resolution in px (width, height); required
    placement: [680, 120, 1200, 1200]  # the image's on-screen rectangle: left, top, width, height (screen px)
    # or instead of placement:  display_px: 1200   (a centred square of that side)
    units: screen                   # x, y in "screen" px (default) or "image" px
    image_size: [490, 490]          # with units: image: the image's (width, height) in px
    diagonal_in: 27                 # optional (default 27): screen diagonal, inches
    distance_cm: 70                 # optional (default 70): viewing distance
    visual_angle_deg: 5             # optional (default 5): the visual span of a fixation, degrees
    sample_rate_hz: 60              # optional (default 60): tracker rate (raw samples)
    idt: {dispersion_deg: 1.0, min_duration_ms: 100}   # optional: I-DT for raw samples
    asc: {image_message: "TRIALID (?P<image_id>\\S+)", end_message: TRIAL_END}  # optional (ASC)

The image in the rectangle is the image the pipeline uses (for CK+: the centred square of the
frame that `read_ckplus` crops, shown at `placement`); a point's place in it is the fraction
(u, v) = ((x - left) / width, (y - top) / height) of the rectangle, and in the pipeline's H x W
image it lies at pixel-centre (u W - 0.5, v H - 0.5).

Bad rows
--------
Structural problems are refused with a ValueError naming the file and the CSV line: a missing
column, a non-numeric value, a duration <= 0, an empty participant. Rows that a recording
legitimately contains are dropped and counted (`GazeRecording.drops`, in this order, a row is
counted under its first reason): `nan` (x, y, start or duration missing), `unknown_image` (an
image id not among the gaze images), `off_screen` (outside the screen), `off_image` (on the screen
but outside the image's rectangle: it can add nothing to the image's heatmap). Raw samples off the
screen become lost samples (counted as `off_screen_samples`); samples of unknown images are dropped
(`unknown_image_samples`), and so are ASC samples outside a trial (`outside_trial_samples`); the
detected fixations then pass the fixation rules above.

The heatmap kernel follows the sidecar: the visual span (`visual_angle_deg`) at `distance_cm` on a
screen of `diagonal_in` and `screen` pixels, as image pixels for the image shown at `placement`
(or `display_px`) (`gaze.kernel_for_geometry`; `Placement.given` lists the fields the sidecar set,
the others are the paper's set-up).

The recording is re-expressed in a canonical `StudyGeometry` (the lab's screen, diagonal and
distance; the image as a centred square of `display_px = min(width, height)`), in which the
fixations' `x_screen`, `y_screen` keep their exact place in the image; `x_image`, `y_image` give it
in the gaze images' pixels.
"""

from __future__ import annotations

import hashlib
import math
import os
import re
import warnings
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Sequence

import numpy as np
import pandas as pd
import yaml

from rbdm_core.data.annotators import SAMPLE_COLUMNS, StudyGeometry

FIXATION_TABLE_COLUMNS = ("participant", "image_id", "x", "y", "start_ms", "duration_ms")
SAMPLE_TABLE_COLUMNS = ("participant", "image_id", "t_ms", "x", "y")
SIDECAR_SUFFIXES = (".yml", ".yaml", ".json")
SAMPLE_FILE_SUFFIXES = (".feather", ".arrow", ".ipc")
ASC_SUFFIX = ".asc"
EYETRIBE_SUFFIX = ".tsv"
#: the columns of a PyGaze / pytribe Eye Tribe log, in its order
EYETRIBE_COLUMNS = ("timestamp", "time", "fix", "state", "rawx", "rawy", "avgx", "avgy", "psize",
                    "Lrawx", "Lrawy", "Lavgx", "Lavgy", "Lpsize", "Lpupilx", "Lpupily",
                    "Rrawx", "Rrawy", "Ravgx", "Ravgy", "Rpsize", "Rpupilx", "Rpupily")
DEFAULT_EYETRIBE = {"signal": "smoothed", "fixations": "idt"}
EYETRIBE_CHOICES = {"signal": ("smoothed", "raw"), "fixations": ("idt", "tracker")}
#: Where an EyeLink ASC file says which image is shown: the message that starts a trial (a named
#: group image_id) and the one that ends it (samples outside trials are left out and counted).
DEFAULT_ASC = {"image_message": r"TRIALID (?P<image_id>\S+)", "end_message": "TRIAL_END"}
#: Reasons a row is dropped, in the order they are tested.
DROP_REASONS = ("nan", "unknown_image", "off_screen", "off_image")
DEFAULT_IDT = {"dispersion_deg": 1.0, "min_duration_ms": 100.0}


@dataclass(frozen=True)
class Placement:
    """A sidecar's geometry: screen (W, H) px, the image's rectangle (left, top, width, height) in
    screen px, units of x and y ("screen" or "image"), image_size (W, H) px for units "image",
    diagonal_in, distance_cm, sample_rate_hz, idt (dispersion_deg, min_duration_ms)."""

    screen: tuple[int, int]
    rect: tuple[float, float, float, float]
    units: str = "screen"
    image_size: tuple[float, float] | None = None
    diagonal_in: float = 27.0
    distance_cm: float = 70.0
    sample_rate_hz: float = 60.0
    idt: dict = field(default_factory=lambda: dict(DEFAULT_IDT))
    asc: dict = field(default_factory=lambda: dict(DEFAULT_ASC))
    visual_angle_deg: float = 5.0
    eyetribe: dict = field(default_factory=lambda: dict(DEFAULT_EYETRIBE))
    #: the fields the sidecar gave (the others are defaults: the paper's set-up)
    given: tuple[str, ...] = ()

    def study_geometry(self):
        """The canonical StudyGeometry: the lab's screen, the image as a centred square."""
        side = max(1, int(round(min(self.rect[2], self.rect[3]))))
        return StudyGeometry(screen=tuple(self.screen), diagonal_in=self.diagonal_in, distance_cm=self.distance_cm,
                             display_px=side, sample_rate_hz=self.sample_rate_hz,
                             visual_angle_deg=self.visual_angle_deg)

    def to_screen(self, x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """x, y in this placement's units -> screen px."""
        if self.units == "screen":
            return np.asarray(x, float), np.asarray(y, float)
        if self.image_size is None:
            raise ValueError("geometry: units 'image' needs image_size: [width, height] of the image in px")
        u, v = (np.asarray(x, float) + 0.5) / self.image_size[0], (np.asarray(y, float) + 0.5) / self.image_size[1]
        return self.rect[0] + u * self.rect[2], self.rect[1] + v * self.rect[3]

    def fractions(self, xs: np.ndarray, ys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Screen px -> (u, v), the point's place in the image rectangle (0 <= u, v < 1 on it)."""
        return (xs - self.rect[0]) / self.rect[2], (ys - self.rect[1]) / self.rect[3]


def _num(src: str, key: str, value: Any, positive: bool = True) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) \
            or (positive and value <= 0) or value < 0:
        raise ValueError(f"{src}: {key}: expected a finite number {'> 0' if positive else '>= 0'}, got {value!r}")
    return float(value)


def _pair(src: str, key: str, value: Any, n: int = 2) -> tuple[float, ...]:
    if not isinstance(value, (list, tuple)) or len(value) != n:
        raise ValueError(f"{src}: {key}: expected a list of {n} numbers, got {value!r}")
    return tuple(_num(src, f"{key}[{i}]", v, positive=(n == 2 or i >= 2)) for i, v in enumerate(value))


def parse_placement(spec: dict, src: str = "geometry", units: str | None = None) -> Placement:
    """A Placement from a sidecar's mapping (see the module doc); `units` overrides the mapping's.
    Errors name `src` and the key."""
    if not isinstance(spec, dict):
        raise ValueError(f"{src}: expected a mapping of geometry fields, got {type(spec).__name__}")
    known = {"screen", "placement", "display_px", "units", "image_size", "diagonal_in", "distance_cm",
             "sample_rate_hz", "idt", "asc", "visual_angle_deg", "eyetribe"}
    unknown = sorted(set(spec) - known)
    if unknown:
        raise ValueError(f"{src}: unknown field(s) {unknown}; valid fields are {sorted(known)}")
    if "screen" not in spec:
        raise ValueError(f"{src}: screen: missing; expected [width, height] in px, e.g. screen: [2560, 1440]")
    sw, sh = _pair(src, "screen", spec["screen"])
    if "placement" in spec:
        rect = _pair(src, "placement", spec["placement"], 4)
    elif "display_px" in spec:
        d = _num(src, "display_px", spec["display_px"])
        rect = ((sw - d) / 2, (sh - d) / 2, d, d)
    else:
        raise ValueError(f"{src}: placement: missing; expected [left, top, width, height] of the image on the screen "
                         "in px, or display_px: N for a centred square")
    left, top, w, h = rect
    if left < 0 or top < 0 or left + w > sw or top + h > sh:
        raise ValueError(f"{src}: placement {list(rect)}: the image's rectangle does not fit on the {sw:g}x{sh:g} screen")
    units = units or spec.get("units", "screen")
    if units not in ("screen", "image"):
        raise ValueError(f"{src}: units: expected 'screen' or 'image', got {units!r}")
    size = None
    if units == "image":
        if "image_size" not in spec:
            raise ValueError(f"{src}: image_size: missing; with units: image give the image's [width, height] in px")
        size = _pair(src, "image_size", spec["image_size"])
    idt = dict(DEFAULT_IDT)
    if "idt" in spec:
        if not isinstance(spec["idt"], dict) or set(spec["idt"]) - set(DEFAULT_IDT):
            raise ValueError(f"{src}: idt: expected a mapping with some of {sorted(DEFAULT_IDT)}, got {spec['idt']!r}")
        idt.update({k: _num(src, f"idt.{k}", v) for k, v in spec["idt"].items()})
    asc = dict(DEFAULT_ASC)
    if "asc" in spec:
        if not isinstance(spec["asc"], dict) or set(spec["asc"]) - set(DEFAULT_ASC) \
                or not all(isinstance(v, str) and v for v in spec["asc"].values()):
            raise ValueError(f"{src}: asc: expected a mapping with some of {sorted(DEFAULT_ASC)} (regular expressions), "
                             f"got {spec['asc']!r}")
        asc.update(spec["asc"])
        try:
            if "image_id" not in re.compile(asc["image_message"]).groupindex:
                raise ValueError(f"{src}: asc: image_message must name a group image_id, e.g. "
                                 f"{DEFAULT_ASC['image_message']!r}; got {asc['image_message']!r}")
            re.compile(asc["end_message"])
        except re.error as exc:
            raise ValueError(f"{src}: asc: not a regular expression ({exc})") from None
    eyetribe = dict(DEFAULT_EYETRIBE)
    if "eyetribe" in spec:
        et = spec["eyetribe"]
        if not isinstance(et, dict) or set(et) - set(DEFAULT_EYETRIBE) \
                or any(et[k] not in EYETRIBE_CHOICES[k] for k in et):
            raise ValueError(f"{src}: eyetribe: expected a mapping with signal: smoothed|raw and/or fixations: "
                             f"idt|tracker, got {et!r}")
        eyetribe.update(et)
    angle = _num(src, "visual_angle_deg", spec.get("visual_angle_deg", 5.0))
    if angle >= 180:
        raise ValueError(f"{src}: visual_angle_deg: expected a number of degrees below 180, got {angle!r}")
    return Placement(screen=(int(sw), int(sh)), rect=rect, units=units, image_size=size, asc=asc,
                     diagonal_in=_num(src, "diagonal_in", spec.get("diagonal_in", 27.0)),
                     distance_cm=_num(src, "distance_cm", spec.get("distance_cm", 70.0)),
                     sample_rate_hz=_num(src, "sample_rate_hz", spec.get("sample_rate_hz", 60.0)), idt=idt,
                     visual_angle_deg=angle, eyetribe=eyetribe, given=tuple(sorted(spec)))


def sidecar_path(path: str | os.PathLike) -> Path:
    """The geometry sidecar of a data file: same folder and stem, .yml/.yaml/.json; of a folder of
    EyeLink ASC files: `geometry.yml` (.yaml, .json) inside it."""
    p = Path(path)
    if p.is_dir():
        for suf in SIDECAR_SUFFIXES:
            if (p / f"geometry{suf}").is_file():
                return p / f"geometry{suf}"
        raise FileNotFoundError(f"{p}: no geometry sidecar; expected {p / 'geometry.yml'} (or .yaml, .json) with "
                                "screen: [W, H] and placement: [left, top, width, height] (see rbdm_core.gaze.recordings)")
    for suf in SIDECAR_SUFFIXES:
        c = p.with_suffix(suf)
        if c.is_file():
            return c
    raise FileNotFoundError(f"{p}: no geometry sidecar; expected {p.with_suffix('.yml')} (or .yaml, .json) with "
                            "screen: [W, H] and placement: [left, top, width, height] (see rbdm_core.gaze.recordings)")


def read_placement(path: str | os.PathLike, units: str | None = None) -> Placement:
    """Read a geometry sidecar (YAML or JSON) into a Placement."""
    p = Path(path)
    try:
        spec = yaml.safe_load(p.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise ValueError(f"{p}: not valid YAML or JSON ({exc})") from None
    return parse_placement(spec if spec is not None else {}, src=str(p), units=units)


@dataclass
class GazeRecording:
    """Recorded gaze, shaped like the simulated `GazeStudy`.

    fixations:  DataFrame annotator (int, participants in sorted order), image_index (into the
                gaze images), fixation (0.. per annotator and image, by start), x_screen, y_screen
                (canonical geometry), start_ms, duration_ms, target ("recorded"), participant,
                image_id, x_image, y_image (pixel-centre coordinates in the gaze images' pixels)
    samples:    DataFrame annotator, image_index, t_ms, x_screen, y_screen (raw samples; empty for
                a fixation table)
    geometry:   the canonical StudyGeometry
    annotators: DataFrame annotator, participant, fixations, images
    drops:      rows dropped per reason (`DROP_REASONS`, and for raw samples
                off_screen_samples, unknown_image_samples)
    params:     source file(s), their sha256, reader, units, rows read, I-DT parameters
    """

    fixations: pd.DataFrame
    samples: pd.DataFrame
    geometry: Any
    annotators: pd.DataFrame
    drops: dict
    params: dict = field(default_factory=dict)

    #: A recording, not a simulation (`GazeStudy.recorded` is False).
    recorded = True

    def mean_fixations(self) -> float:
        """Mean number of fixations per image and annotator (pairs with at least one fixation)."""
        return float(self.fixations.groupby(["annotator", "image_index"]).size().mean())

    def drop_report(self) -> pd.DataFrame:
        """What was read, dropped per reason and kept: DataFrame item, count (rows of the file;
        for raw samples the fixation reasons count detected fixations)."""
        rows = [("rows read", int(self.params.get("rows", 0)))]
        rows += [(f"dropped: {k}", int(v)) for k, v in self.drops.items()]
        rows.append(("fixations kept", len(self.fixations)))
        return pd.DataFrame(rows, columns=["item", "count"])

    def describe(self) -> str:
        """One line: what was read and what was dropped."""
        d = ", ".join(f"{k} {v}" for k, v in self.drops.items()) or "none"
        return (f"recorded gaze ({self.params.get('reader')}, {Path(self.params.get('file', '')).name}): "
                f"{len(self.annotators)} participants, {len(self.fixations)} fixations on "
                f"{self.fixations.image_index.nunique()} images; {self.params.get('rows', 0)} rows read, dropped: {d}")


def _sha256(paths: Sequence[Path]) -> str:
    h = hashlib.sha256()
    for p in paths:
        h.update(p.read_bytes())
    return h.hexdigest()


def _image_index(images) -> dict[str, int]:
    ids = [str(i) for i in images.ids]
    return {k: i for i, k in enumerate(ids)}


def _line(i: int) -> int:
    return int(i) + 2  # CSV line of data row i (the header is line 1)


def _read_csv(path: Path, required: Sequence[str]) -> pd.DataFrame:
    try:
        df = pd.read_csv(path, dtype=str, keep_default_na=False)
    except Exception as exc:  # pandas' parser errors
        raise ValueError(f"{path}: not a readable CSV ({exc})") from None
    missing = [c for c in required if c not in df.columns]
    if missing:
        raise ValueError(f"{path}: missing column(s) {missing}; expected columns {list(required)} "
                         f"(found {list(df.columns)})")
    return df


_NAN_TEXT = {"", "nan", "NaN", "NA", "na", "null", "None"}


def _numeric(df: pd.DataFrame, col: str, path: Path) -> np.ndarray:
    """Column `col` as float64 (empty / NaN text -> NaN); a non-numeric value is refused naming its line."""
    text = df[col].str.strip()
    out = pd.to_numeric(text.where(~text.isin(_NAN_TEXT)), errors="coerce").to_numpy(float)
    bad = np.flatnonzero(np.isnan(out) & ~text.isin(_NAN_TEXT).to_numpy())
    if len(bad):
        i = int(bad[0])
        raise ValueError(f"{path}, line {_line(i)}: {col}: expected a number, got {df[col].iloc[i]!r}"
                         f"{f' ({len(bad)} such rows)' if len(bad) > 1 else ''}")
    return out


def _participants(df: pd.DataFrame, path: Path) -> np.ndarray:
    part = df["participant"].str.strip().to_numpy(object)
    empty = np.flatnonzero(part == "")
    if len(empty):
        raise ValueError(f"{path}, line {_line(empty[0])}: participant: empty; every row names its participant")
    return part


def _place(placement: Placement, images, x_screen, y_screen):
    """(x_canon, y_canon, x_image, y_image, on_screen, on_image) of screen points."""
    sw, sh = placement.screen
    with np.errstate(invalid="ignore"):
        on_screen = (x_screen >= 0) & (x_screen < sw) & (y_screen >= 0) & (y_screen < sh)
        u, v = placement.fractions(x_screen, y_screen)
        on_image = (u >= 0) & (u < 1) & (v >= 0) & (v < 1)
    geo = placement.study_geometry()
    ox, oy = geo.display_origin
    h, w = images.images.shape[1:3]
    return ox + u * geo.display_px, oy + v * geo.display_px, u * w - 0.5, v * h - 0.5, on_screen, on_image


def _assemble(part, image_index, xs, ys, start, dur, placement, images, ok_before, drops):
    """Apply the screen / image rules to fixations in screen px; build the fixations and annotators tables."""
    xc, yc, xi, yi, on_screen, on_image = _place(placement, images, xs, ys)
    off_screen = ok_before & ~on_screen
    drops["off_screen"] = drops.get("off_screen", 0) + int(off_screen.sum())
    off_image = ok_before & on_screen & ~on_image
    drops["off_image"] = drops.get("off_image", 0) + int(off_image.sum())
    keep = ok_before & on_screen & on_image
    names = sorted(set(part[keep].tolist()) | set(part.tolist()))
    code = {p: a for a, p in enumerate(names)}
    ids = np.asarray([str(i) for i in images.ids], object)
    fx = pd.DataFrame({
        "annotator": np.array([code[p] for p in part[keep]], np.int64),
        "image_index": image_index[keep].astype(np.int64),
        "x_screen": xc[keep], "y_screen": yc[keep], "start_ms": start[keep], "duration_ms": dur[keep],
        "target": "recorded", "participant": part[keep], "image_id": ids[image_index[keep].astype(np.int64)],
        "x_image": xi[keep], "y_image": yi[keep],
    })
    fx = fx.sort_values(["annotator", "image_index", "start_ms"], kind="stable").reset_index(drop=True)
    fx.insert(2, "fixation", fx.groupby(["annotator", "image_index"]).cumcount().astype(np.int64))
    counts = fx.groupby("annotator").agg(fixations=("fixation", "size"), images=("image_index", "nunique"))
    ann = pd.DataFrame({"annotator": np.arange(len(names), dtype=np.int64), "participant": names})
    ann = ann.join(counts, on="annotator").fillna({"fixations": 0, "images": 0})
    ann[["fixations", "images"]] = ann[["fixations", "images"]].astype(np.int64)
    return fx, ann


def _parse_fixation_table(p: Path):
    """A fixation table's columns, refused by line on a structural problem: (df, participant,
    x, y, start_ms, duration_ms), numbers as float64 with NaN for empty cells."""
    df = _read_csv(p, FIXATION_TABLE_COLUMNS)
    part = _participants(df, p)
    x, y, start, dur = (_numeric(df, c, p) for c in ("x", "y", "start_ms", "duration_ms"))
    with np.errstate(invalid="ignore"):
        bad_dur = np.flatnonzero(dur <= 0)
    if len(bad_dur):
        raise ValueError(f"{p}, line {_line(bad_dur[0])}: duration_ms: expected a duration > 0 ms, got "
                         f"{df['duration_ms'].iloc[bad_dur[0]]!r}")
    return df, part, x, y, start, dur


def _check_samples_csv(p: Path) -> None:
    """A raw-samples CSV's structure, refused by line: columns, numbers, a time on every row."""
    df = _read_csv(p, SAMPLE_TABLE_COLUMNS)
    _participants(df, p)
    t_chk = _numeric(df, "t_ms", p)
    for c in ("x", "y"):
        _numeric(df, c, p)
    if np.isnan(t_chk).any():
        i = int(np.flatnonzero(np.isnan(t_chk))[0])
        raise ValueError(f"{p}, line {_line(i)}: t_ms: empty; every sample needs its time in ms")


def _placement(p: Path, geometry, units, files: list) -> "Placement":
    """The recording's placement: from `geometry` (a Placement or a mapping) when given, else from
    the sidecar beside `p` (appended to `files`, which key the cache)."""
    if geometry is None:
        side = sidecar_path(p)
        files.append(side)
        return read_placement(side, units)
    if isinstance(geometry, Placement):
        return geometry if units is None else replace(geometry, units=units)
    return parse_placement(geometry, src=f"{p} geometry", units=units)


def read_fixation_table(path: str | os.PathLike, images, geometry: Placement | dict | None = None,
                        units: str | None = None) -> GazeRecording:
    """Read a fixation table (CSV, see the module doc) recorded on `images` (the gaze-study
    Dataset; image ids are its `ids`). geometry: a Placement or a sidecar mapping (default: the
    sidecar file beside `path`); units: "screen" or "image", overriding the sidecar's."""
    p = Path(path)
    if not p.is_file():
        raise FileNotFoundError(f"fixation table {p}: not found")
    files = [p]
    placement = _placement(p, geometry, units, files)
    df, part, x, y, start, dur = _parse_fixation_table(p)
    index = _image_index(images)
    img = df["image_id"].str.strip().map(index)
    nan = np.isnan(x) | np.isnan(y) | np.isnan(start) | np.isnan(dur)
    unknown = ~nan & img.isna().to_numpy()
    drops = {"nan": int(nan.sum()), "unknown_image": int(unknown.sum())}
    image_index = img.fillna(-1).to_numpy(np.int64)
    xs, ys = placement.to_screen(x, y)
    fx, ann = _assemble(part, image_index, xs, ys, start, dur, placement, images, ~nan & ~unknown, drops)
    params = {"reader": "fixation table", "file": str(p.resolve()), "files": [str(f.resolve()) for f in files],
              "sha256": _sha256(files), "rows": len(df), "units": placement.units, "screen": list(placement.screen),
              "placement": list(placement.rect), "sidecar_fields": list(placement.given), "synthetic": False}
    return GazeRecording(fixations=fx, samples=_empty_samples(), geometry=placement.study_geometry(),
                         annotators=ann, drops=drops, params=params)


def _empty_samples() -> pd.DataFrame:
    return pd.DataFrame({c: pd.Series(dtype=np.int64 if c in ("annotator", "image_index") else float)
                         for c in SAMPLE_COLUMNS})


def _pm_samples(p: Path) -> pd.DataFrame:
    """Samples read by pymovements: DataFrame participant, image_id, t_ms, x, y."""
    import pymovements as pm  # deferred: pymovements, slow to import (seconds)

    kw = dict(time_column="t_ms", time_unit="ms", pixel_columns=["x", "y"], trial_columns=["participant", "image_id"])
    try:
        if p.suffix.lower() in SAMPLE_FILE_SUFFIXES:
            with warnings.catch_warnings():  # "no components could be inferred": x, y are read below
                warnings.simplefilter("ignore", UserWarning)
                g = pm.gaze.from_ipc(p, trial_columns=["participant", "image_id"], column_map={"t_ms": "time"})
            frame = g.samples.to_pandas()
            return frame.rename(columns={"time": "t_ms"})[list(SAMPLE_TABLE_COLUMNS)]
        g = pm.gaze.from_csv(p, column_schema_overrides={"participant": str, "image_id": str}, **kw)
    except Exception as exc:  # pymovements / polars reader errors
        raise ValueError(f"{p}: pymovements could not read the samples ({type(exc).__name__}: {exc}); expected "
                         f"columns {list(SAMPLE_TABLE_COLUMNS)}") from None
    s = g.samples
    pix = np.array(s["pixel"].to_list(), dtype=float).reshape(len(s), 2)
    return pd.DataFrame({"participant": s["participant"].to_numpy().astype(object),
                         "image_id": s["image_id"].to_numpy().astype(object),
                         "t_ms": s["time"].to_numpy().astype(float), "x": pix[:, 0], "y": pix[:, 1]})


def asc_files(path: Path) -> list[Path]:
    """The tracker files of a recording: the file itself, or a folder's EyeLink *.asc or Eye Tribe
    *.tsv files (sorted; one kind per folder)."""
    if path.is_dir():
        found = {suf: sorted(f for f in path.iterdir() if f.suffix.lower() == suf and f.is_file())
                 for suf in (ASC_SUFFIX, EYETRIBE_SUFFIX)}
        kinds = [suf for suf, fs in found.items() if fs]
        if len(kinds) != 1:
            raise ValueError(f"gaze recording {path}: " + ("a folder without .asc or .tsv files" if not kinds else
                             "a folder with both .asc and .tsv files") + "; expected one EyeLink ASC file, or one Eye "
                             "Tribe log (.tsv), per participant (or give a file: a fixation table or raw samples)")
        return found[kinds[0]]
    return [path]


def _is_eyetribe(path: Path) -> bool:
    return asc_files(path)[0].suffix.lower() == EYETRIBE_SUFFIX if path.is_dir() else path.suffix.lower() == EYETRIBE_SUFFIX


def _eyetribe_samples(files: Sequence[Path], placement: Placement) -> pd.DataFrame:
    """Eye Tribe logs (PyGaze's pytribe format, see the module doc): DataFrame participant (the
    file's stem), image_id (from the messages; None outside a trial), t_ms, x, y (NaN where the
    gaze was not tracked), fix (the tracker's flag). Errors name the file and line."""
    start, end = re.compile(placement.asc["image_message"]), re.compile(placement.asc["end_message"])
    xcol, ycol = ("avgx", "avgy") if placement.eyetribe["signal"] == "smoothed" else ("rawx", "rawy")
    ix, iy = EYETRIBE_COLUMNS.index(xcol), EYETRIBE_COLUMNS.index(ycol)
    parts = []
    for f in files:
        rows, image = [], None
        with open(f, encoding="utf-8", errors="replace") as fh:
            header = fh.readline().rstrip("\r\n").split("\t")
            if tuple(header[:9]) != EYETRIBE_COLUMNS[:9]:
                raise ValueError(f"{f}, line 1: not an Eye Tribe log; expected the tab-separated header "
                                 f"{', '.join(EYETRIBE_COLUMNS[:9])}, ... (PyGaze's pytribe), got {header[:9]}")
            for n, line in enumerate(fh, start=2):
                cells = line.rstrip("\r\n").split("\t")
                if cells == [""]:
                    continue
                if cells[0] == "MSG":
                    msg = "\t".join(cells[3:])
                    m = start.search(msg)
                    if m:
                        image = m.group("image_id")
                    elif end.search(msg):
                        image = None
                    continue
                if len(cells) < 9:
                    raise ValueError(f"{f}, line {n}: expected {len(EYETRIBE_COLUMNS)} tab-separated columns "
                                     f"({', '.join(EYETRIBE_COLUMNS[:9])}, ...), got {len(cells)}")
                try:
                    t, state, x, y = float(cells[1]), int(float(cells[3])), float(cells[ix]), float(cells[iy])
                except ValueError:
                    raise ValueError(f"{f}, line {n}: time, state, {xcol}, {ycol} must be numbers, got "
                                     f"{[cells[1], cells[3], cells[ix], cells[iy]]}") from None
                if cells[2] not in ("True", "False"):
                    raise ValueError(f"{f}, line {n}: fix: expected True or False, got {cells[2]!r}")
                lost = not (state & 1)  # the tracker's STATE_TRACKING_GAZE bit
                rows.append((image, t, np.nan if lost else x, np.nan if lost else y, cells[2] == "True" and not lost))
        if not rows:
            raise ValueError(f"{f}: no samples; expected one tab-separated row per frame after the header")
        img, t, x, y, fix = zip(*rows)
        parts.append(pd.DataFrame({"participant": f.stem, "image_id": pd.Series(img, dtype=object),
                                   "t_ms": np.asarray(t, float), "x": np.asarray(x, float), "y": np.asarray(y, float),
                                   "fix": np.asarray(fix, bool)}))
    return pd.concat(parts, ignore_index=True)


def _tracker_fixations(t: np.ndarray, xy: np.ndarray, fix: np.ndarray) -> list[tuple[float, float, float, float]]:
    """(x, y, start_ms, duration_ms) of each run of frames the tracker flagged as a fixation."""
    out, k = [], 0
    while k < len(fix):
        if not fix[k]:
            k += 1
            continue
        j = k
        while j + 1 < len(fix) and fix[j + 1]:
            j += 1
        if j > k:  # one flagged frame has no duration
            cx, cy = np.nanmedian(xy[k:j + 1], axis=0)
            out.append((float(cx), float(cy), float(t[k]), float(t[j] - t[k])))
        k = j + 1
    return out


def _asc_samples(files: Sequence[Path], placement: Placement) -> pd.DataFrame:
    """EyeLink ASC samples read by pymovements (`from_asc`): DataFrame participant (the file's
    stem), image_id (from the trial messages; None outside a trial), t_ms, x, y (binocular: the
    right eye)."""
    import pymovements as pm  # deferred: pymovements, slow to import (seconds)

    parts = []
    for f in files:
        patterns = [{"pattern": placement.asc["image_message"]},
                    {"pattern": placement.asc["end_message"], "column": "image_id", "value": None}]
        try:
            with warnings.catch_warnings():  # metadata the ASC may lack (calibration, validation, ...)
                warnings.simplefilter("ignore")
                g = pm.gaze.from_asc(f, patterns=patterns)
        except Exception as exc:  # pymovements' parser errors
            raise ValueError(f"{f}: pymovements could not read it as an EyeLink ASC file "
                             f"({type(exc).__name__}: {exc})") from None
        smp = g.samples
        if "image_id" not in smp.columns or len(smp) == 0:
            raise ValueError(f"{f}: no samples inside trials; expected messages matching "
                             f"{placement.asc['image_message']!r} (sidecar asc: image_message)")
        pix = np.array([[np.nan] * 4 if v is None else [np.nan if c is None else c for c in v]
                        for v in smp["pixel"].to_list()], dtype=float)
        xy = pix[:, 2:4] if pix.shape[1] >= 4 else pix[:, :2]
        parts.append(pd.DataFrame({"participant": f.stem, "image_id": smp["image_id"].to_numpy().astype(object),
                                   "t_ms": smp["time"].to_numpy().astype(float), "x": xy[:, 0], "y": xy[:, 1]}))
    return pd.concat(parts, ignore_index=True)


def read_gaze_samples(path: str | os.PathLike, images, geometry: Placement | dict | None = None,
                      units: str | None = None, dispersion_deg: float | None = None,
                      min_duration_ms: float | None = None, fixation_cache=None) -> GazeRecording:
    """Read raw gaze samples (CSV or Arrow IPC, see the module doc) with pymovements and detect
    fixations per participant and image with pymovements' I-DT (`pymovements.events.idt`, on
    screen px; dispersion = `dispersion_deg` degrees of visual angle in screen px by the lab's
    geometry, default the sidecar's idt or 1.0; min_duration_ms default the sidecar's or 100).
    A fixation's place is the median of its samples (pymovements' window ends on the sample that
    broke it), its duration offset - onset. Samples off the screen count as lost tracking.
    fixation_cache: optional `(key, compute) -> arrays` (e.g. `Store.cached_arrays` bound to a
    kind) that keeps the detected fixations, keyed by the files' sha256 and the I-DT parameters;
    the caller adds what identifies `images`."""
    # long: read, check, cache and run pymovements' I-DT per participant and image, steps that share the sidecar's geometry and units; commented in order
    import pymovements as pm  # deferred: pymovements, slow to import (seconds)

    p = Path(path)
    if not (p.is_file() or p.is_dir()):
        raise FileNotFoundError(f"gaze samples {p}: not found")
    is_tribe = _is_eyetribe(p)
    is_asc = (p.is_dir() or p.suffix.lower() == ASC_SUFFIX) and not is_tribe
    files = asc_files(p) if (is_asc or is_tribe) else [p]
    data_files = list(files)
    placement = _placement(p, geometry, units, files)
    by_tracker = is_tribe and placement.eyetribe["fixations"] == "tracker"
    drops = {}
    if is_asc or is_tribe:
        s = (_eyetribe_samples if is_tribe else _asc_samples)(data_files, placement)
        outside = s["image_id"].isna().to_numpy()
        drops["outside_trial_samples"] = int(outside.sum())
        s = s[~outside].reset_index(drop=True)
    else:
        if p.suffix.lower() not in SAMPLE_FILE_SUFFIXES:  # name the line of a structural problem first
            _check_samples_csv(p)
        s = _pm_samples(p)
    geo = placement.study_geometry()
    disp_deg = float(dispersion_deg if dispersion_deg is not None else placement.idt["dispersion_deg"])
    min_ms = float(min_duration_ms if min_duration_ms is not None else placement.idt["min_duration_ms"])
    disp_px = geo.deg_to_px(disp_deg)
    index = _image_index(images)
    img = s["image_id"].astype(str).str.strip().map(index)
    unknown = img.isna().to_numpy()
    xs, ys = placement.to_screen(s["x"].to_numpy(float), s["y"].to_numpy(float))
    sw, sh = placement.screen
    with np.errstate(invalid="ignore"):
        off = ~unknown & ~np.isnan(xs) & ~np.isnan(ys) & ~((xs >= 0) & (xs < sw) & (ys >= 0) & (ys < sh))
    xs, ys = np.where(off, np.nan, xs), np.where(off, np.nan, ys)
    drops.update({"unknown_image_samples": int(unknown.sum()), "off_screen_samples": int(off.sum())})
    s = s.assign(image_index=img.fillna(-1).to_numpy(np.int64), sx=xs, sy=ys)[~unknown]
    def detect() -> dict[str, np.ndarray]:
        rows = []
        for (part, ii), grp in s.groupby(["participant", "image_index"], sort=True):
            grp = grp.sort_values("t_ms", kind="stable")
            t = grp.t_ms.to_numpy(float)
            step = np.diff(t)
            dt = float(np.median(step)) if len(step) else 0.0
            if len(step) and (step.min() <= 0 or step.max() > 1.5 * dt or step.min() < 0.5 * dt):
                raise ValueError(f"{p}: participant {part!r}, image {images.ids[ii]!r}: sample times t_ms must rise at "
                                 f"a constant rate (median step {dt:g} ms, steps from {step.min():g} to {step.max():g} ms); "
                                 "a lost sample is a row with empty x and y, not a missing row")
            xy = np.column_stack([grp.sx.to_numpy(float), grp.sy.to_numpy(float)])
            if by_tracker:  # the Eye Tribe's own fixation flag (lost and off-screen frames are not fixated)
                flag = grp.fix.to_numpy(bool) & ~np.isnan(xy).any(axis=1)
                rows += [(part, ii, *f) for f in _tracker_fixations(t, xy, flag)]
                continue
            if len(t) < 2 or np.isnan(xy).any(axis=1).sum() >= len(xy) - 1:
                continue
            # pymovements' I-DT on sample indices (it needs a constant step): a window of k samples
            # spans (k - 1) dt, so min_duration_ms takes ceil(min_ms / dt) + 1 samples (ceil forgives
            # the rounding of the times: 100 ms at 60 Hz is 6 steps, not 7)
            with warnings.catch_warnings():  # its dispersion of an all-lost window: nan, "All-NaN slice"
                warnings.simplefilter("ignore", RuntimeWarning)
                ev = pm.events.idt(xy, np.arange(len(t), dtype=np.int64),
                                   minimum_duration=int(math.ceil(min_ms / dt - 1e-6)) + 1,
                                   dispersion_threshold=float(disp_px)).frame
            for on, offs in zip(ev["onset"].to_list(), ev["offset"].to_list()):
                cx, cy = np.nanmedian(xy[on:offs + 1], axis=0)
                rows.append((part, ii, cx, cy, t[on], t[offs] - t[on]))
        cols = list(zip(*rows)) if rows else [[]] * 6
        return {"participant": np.asarray(cols[0], dtype=str), "image_index": np.asarray(cols[1], np.int64),
                **{k: np.asarray(c, float) for k, c in zip(("x", "y", "start_ms", "duration_ms"), cols[2:])}}

    files_sha = _sha256(files)
    key = {"sha256": files_sha, "screen": list(placement.screen), "placement": list(placement.rect),
           "units": placement.units, "image_size": placement.image_size, "dispersion_px": disp_px, "min_duration_ms": min_ms,
           "detector": "Eye Tribe fix flag" if by_tracker else "pymovements.events.idt " + getattr(pm, "__version__", "?"),
           "signal": placement.eyetribe["signal"] if is_tribe else None}
    found = fixation_cache(key, detect) if fixation_cache is not None else detect()
    part = np.asarray(found["participant"], object)
    fx, ann = _assemble(part, found["image_index"], found["x"], found["y"], found["start_ms"], found["duration_ms"],
                        placement, images, np.ones(len(part), bool), drops)
    code = dict(zip(ann.participant, ann.annotator))
    xc, yc = _place(placement, images, s.sx.to_numpy(float), s.sy.to_numpy(float))[:2]
    samples = pd.DataFrame({"annotator": s.participant.map(code).fillna(-1).to_numpy(np.int64),
                            "image_index": s.image_index.to_numpy(np.int64), "t_ms": s.t_ms.to_numpy(float),
                            "x_screen": xc, "y_screen": yc})
    reader = "Eye Tribe log" if is_tribe else "EyeLink ASC" if is_asc else "raw samples"
    reader += (f", {placement.eyetribe['signal']} gaze" if is_tribe else "") + \
        (" (the tracker's fix flag)" if by_tracker else " (pymovements I-DT)")
    params = {"reader": reader, "file": str(p.resolve()),
              "files": [str(f.resolve()) for f in files], "sha256": files_sha, "rows": int(len(unknown)) + drops.get("outside_trial_samples", 0),
              "units": placement.units, "screen": list(placement.screen), "placement": list(placement.rect),
              "sidecar_fields": list(placement.given),
              "dispersion_deg": disp_deg, "dispersion_px": disp_px, "min_duration_ms": min_ms, "synthetic": False}
    return GazeRecording(fixations=fx, samples=samples, geometry=geo, annotators=ann, drops=drops, params=params)


def eyetribe_detectors(path: str | os.PathLike, images) -> pd.DataFrame:
    """An Eye Tribe recording read with both fixation detectors (pymovements' I-DT and the
    tracker's fix flag; the sidecar's signal either way): DataFrame detector, fixations, images
    (with at least one fixation), mean fixations per participant and image, median duration (ms),
    and which one the sidecar chose (`used`)."""
    p = Path(path)
    if not _is_eyetribe(p):
        raise ValueError(f"{p}: not an Eye Tribe recording (a .tsv log or a folder of them)")
    placement = _placement(p, None, None, [])
    rows = []
    for det in EYETRIBE_CHOICES["fixations"]:
        rec = read_gaze_samples(p, images, geometry=replace(placement, eyetribe={**placement.eyetribe, "fixations": det}))
        fx = rec.fixations
        rows.append({"detector": "pymovements I-DT" if det == "idt" else "the tracker's fix flag",
                     "fixations": len(fx), "images": int(fx.image_index.nunique()),
                     "per participant and image": rec.mean_fixations() if len(fx) else float("nan"),
                     "median duration (ms)": float(fx.duration_ms.median()) if len(fx) else float("nan"),
                     "used": det == placement.eyetribe["fixations"]})
    return pd.DataFrame(rows)


def recording_kind(path: str | os.PathLike) -> str:
    """"fixations" or "samples": which reader a recording takes. Arrow IPC (.feather, .arrow,
    .ipc), an EyeLink .asc file or a folder of them -> samples; a CSV with a `duration_ms` column ->
    fixations; a CSV with `t_ms` -> samples. Anything else is refused naming the file."""
    p = Path(path)
    if p.is_dir():
        asc_files(p)  # a folder holds EyeLink ASC files, one per participant
        return "samples"
    if not p.is_file():
        raise FileNotFoundError(f"gaze recording {p}: not found")
    if p.suffix.lower() in SAMPLE_FILE_SUFFIXES + (ASC_SUFFIX, EYETRIBE_SUFFIX):
        return "samples"
    with open(p, encoding="utf-8", errors="replace") as fh:
        header = [c.strip() for c in fh.readline().strip().split(",")]
    if "duration_ms" in header:
        return "fixations"
    if "t_ms" in header:
        return "samples"
    raise ValueError(f"gaze recording {p}: its header {header} has neither duration_ms (a fixation table: "
                     f"{list(FIXATION_TABLE_COLUMNS)}) nor t_ms (raw samples: {list(SAMPLE_TABLE_COLUMNS)})")


def check_recording(path: str | os.PathLike) -> str:
    """Everything about a recording file that needs no images: the file, its reader, its sidecar,
    its columns and values (refused by line, as the readers do). Cheap; the CLI runs it before a
    chapter starts. Returns the kind ("fixations" or "samples")."""
    p = Path(path)
    kind = recording_kind(p)
    read_placement(sidecar_path(p))
    if kind == "fixations":
        _parse_fixation_table(p)
    elif p.is_dir() and _is_eyetribe(p) or p.suffix.lower() == EYETRIBE_SUFFIX:
        _eyetribe_samples(asc_files(p), read_placement(sidecar_path(p)))
    elif not p.is_dir() and p.suffix.lower() not in SAMPLE_FILE_SUFFIXES + (ASC_SUFFIX,):
        _check_samples_csv(p)
    return kind


def read_gaze_recording(path: str | os.PathLike, images, **kwargs: Any) -> GazeRecording:
    """`read_fixation_table` or `read_gaze_samples`, chosen by `recording_kind` (a fixation table
    takes no `fixation_cache` nor I-DT parameters: it is read as it is)."""
    if recording_kind(path) == "fixations":
        extra = sorted(k for k in kwargs if k not in ("geometry", "units") and kwargs[k] is not None)
        if set(extra) - {"fixation_cache"}:
            raise ValueError(f"gaze recording {path}: a fixation table takes no {sorted(set(extra) - {'fixation_cache'})}")
        return read_fixation_table(path, images, geometry=kwargs.get("geometry"), units=kwargs.get("units"))
    return read_gaze_samples(path, images, **kwargs)
