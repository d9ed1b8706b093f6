"""Write tiny fixtures in the real corpora's file formats into a (temporary) folder.

Each writer takes plain descriptions of the rows/images and writes exactly the files the real
distribution has, so the readers are tested on the formats, not on a shortcut.
"""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
from PIL import Image

FER_VOTES = ("neutral", "happiness", "surprise", "sadness", "anger", "disgust", "fear", "contempt", "unknown", "NF")


def fer_pixels(i: int) -> np.ndarray:
    """The (48, 48) uint8 face written for fer2013.csv row i: a pattern unique to i."""
    return ((np.arange(48 * 48) * (i + 1) + 7 * i) % 256).astype(np.uint8).reshape(48, 48)


def write_ferplus(folder, rows, pixels_override=None, old_header=None, new_header=None):
    """Write fer2013.csv and fer2013new.csv into `folder`; return (fer2013_path, fer2013new_path).

    rows: list of dicts with keys usage (str), name (str, "" = dropped by FERPlus), votes
          (10 ints in FER_VOTES order), emotion (int, default 0), usage_old (default usage).
    pixels_override: {row index: pixels string} written instead of `fer_pixels(i)`.
    old_header / new_header: replace the header rows (to test missing columns).
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    old, new = folder / "fer2013.csv", folder / "fer2013new.csv"
    pixels_override = pixels_override or {}
    with open(old, "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(old_header or ["emotion", "pixels", "Usage"])
        for i, r in enumerate(rows):
            pix = pixels_override.get(i, " ".join(str(v) for v in fer_pixels(i).ravel()))
            w.writerow([r.get("emotion", 0), pix, r.get("usage_old", r["usage"])])
    with open(new, "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(new_header or ["Usage", "Image name", *FER_VOTES])
        for r in rows:
            w.writerow([r["usage"], r["name"], *r["votes"]])
    return old, new


def write_ferplus_random(folder, n: int, seed: int = 0):
    """A realistic-size random FERPlus pair (for the benchmark): n rows, random pixels and votes."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    usage = np.array(["Training", "PublicTest", "PrivateTest"])[rng.choice(3, n, p=[0.8, 0.1, 0.1])]
    old, new = folder / "fer2013.csv", folder / "fer2013new.csv"
    with open(old, "w") as fh:
        fh.write("emotion,pixels,Usage\n")
        for i in range(n):
            pix = " ".join(map(str, rng.integers(0, 256, 48 * 48).tolist()))
            fh.write(f"{rng.integers(0, 7)},{pix},{usage[i]}\n")
    votes = rng.multinomial(10, [0.3, 0.25, 0.12, 0.1, 0.08, 0.03, 0.03, 0.02, 0.04, 0.03], size=n)
    with open(new, "w") as fh:
        fh.write("Usage,Image name," + ",".join(FER_VOTES) + "\n")
        for i in range(n):
            name = "" if i % 200 == 199 else f"fer{i:07d}.png"
            fh.write(f"{usage[i]},{name}," + ",".join(map(str, votes[i])) + "\n")
    return old, new


# --------------------------------------------------------------------------- AffectNet
AFFECTNET_HEADER = ["subDirectory_filePath", "face_x", "face_y", "face_width", "face_height",
                    "facial_landmarks", "expression", "valence", "arousal"]


def save_image(path, array) -> Path:
    """Save an (H, W) or (H, W, 3) uint8 array as PNG/JPEG (by suffix), creating folders."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(np.asarray(array, np.uint8)).save(path)
    return path


def write_affectnet(root, training, validation, images, header=None):
    """Write an AffectNet tree under `root`.

    training / validation: lists of dicts with keys path, box (x, y, w, h), expression.
    images: {path: (H, W, 3) uint8 array} saved under Manually_Annotated_Images/ (PNG, lossless).
    header: replace the csv header (to test missing columns).
    """
    root = Path(root)
    for rel, arr in images.items():
        save_image(root / "Manually_Annotated_Images" / rel, arr)
    lists = root / "Manually_Annotated_file_lists"
    lists.mkdir(parents=True, exist_ok=True)
    landmarks = ";".join(f"{v:.2f}" for v in np.linspace(1, 50, 136))
    for name, rows in (("training", training), ("validation", validation)):
        with open(lists / f"{name}.csv", "w", newline="") as fh:
            w = csv.writer(fh)
            w.writerow(header or AFFECTNET_HEADER)
            for r in rows:
                x, y, bw, bh = r["box"]
                w.writerow([r["path"], x, y, bw, bh, landmarks, r["expression"], 0.25, -0.5])
    return root


# --------------------------------------------------------------------------- CK+
def ck_frame(subject: int, seq: int, frame: int, shape=(49, 64)) -> np.ndarray:
    """The grayscale frame written for (subject, seq, frame): constant value unique to it."""
    return np.full(shape, (subject * 31 + seq * 7 + frame * 3) % 256, np.uint8)


def write_ckplus(root, sequences, shape=(49, 64)):
    """Write a CK+ tree under `root`.

    sequences: list of dicts with keys subject (int), seq (int), frames (int), code (str as
    written in the emotion file, or None for an unlabelled sequence), label_frame (int, default
    the last frame) and rgb (bool, default False).
    """
    root = Path(root)
    for s in sequences:
        subj, seq = f"S{s['subject']:03d}", f"{s['seq']:03d}"
        fdir = root / "cohn-kanade-images" / subj / seq
        for f in range(1, s["frames"] + 1):
            arr = ck_frame(s["subject"], s["seq"], f, shape)
            if s.get("rgb"):
                arr = np.repeat(arr[:, :, None], 3, axis=2)
            save_image(fdir / f"{subj}_{seq}_{f:08d}.png", arr)
        edir = root / "Emotion" / subj / seq
        edir.mkdir(parents=True, exist_ok=True)
        if s.get("code") is not None:
            lf = s.get("label_frame", s["frames"])
            (edir / f"{subj}_{seq}_{lf:08d}_emotion.txt").write_text(f"   {s['code']}\n")
    return root


def snapshot(folder) -> dict:
    """{relative path: (size, mtime_ns)} of every file and folder under `folder`."""
    folder = Path(folder)
    return {str(p.relative_to(folder)): (p.stat().st_size, p.stat().st_mtime_ns) for p in sorted(folder.rglob("*"))}


# --------------------------------------------------------------------------- the three corpora at once
#: CK+ emotion codes written by `miniature_specs` (1..7: every emotion; 0 = neutral is the first frames').
CK_CODES = (1, 2, 3, 4, 5, 6, 7)


def class_face(label: int, shape, rng) -> np.ndarray:
    """An (H, W) uint8 face-like pattern for FERPlus class index `label`: a bright band whose
    height and position depend on the class, plus noise (so a small network can learn something)."""
    h, w = shape
    img = rng.integers(40, 90, size=(h, w)).astype(np.int16)
    top = int(h * (0.1 + 0.09 * label))
    img[top: top + max(2, h // 8), w // 6: w - w // 6] += 120
    return np.clip(img, 0, 255).astype(np.uint8)


def miniature_specs(per_class: int = 6, seed: int = 0) -> dict:
    """Row descriptions of three miniature corpora in the real formats (what `write_miniature_corpora`
    writes): {"ferplus": rows for write_ferplus, "affectnet": (training, validation, images),
    "ckplus": sequences for write_ckplus}.

    FERPlus: per class `per_class` Training, 2 PublicTest, 2 PrivateTest rows with a clear top vote,
    plus rows the paper's rule drops (2 ties, 1 unknown top, 1 NF top, 1 without votes) and one row
    FERPlus dropped (empty image name). AffectNet: per class `per_class` training and 2 validation
    images, 64x80 RGB with the face in a box (x 12, y 8, w 40, h 48), plus rows the cleaning drops
    (one each of None, Uncertain, Non-Face, one repeated path, one copy of another image's bytes).
    CK+: two 4-frame sequences per emotion code 1..7 (the second subject's labelled on frame 3), and
    one unlabelled sequence."""
    rng = np.random.default_rng(seed)
    classes = ("neutral", "happiness", "surprise", "sadness", "anger", "disgust", "fear", "contempt")
    fer = []
    for c in range(8):
        for usage, n in (("Training", per_class), ("PublicTest", 2), ("PrivateTest", 2)):
            for _ in range(n):
                votes = [0] * 10
                votes[c] = 6
                votes[(c + 1) % 8] = 3
                votes[8] = 1
                fer.append({"usage": usage, "name": f"fer{len(fer):07d}.png", "votes": votes,
                            "pixels": class_face(c, (48, 48), rng)})
    extra = [("Training", "tie", [4, 4, 1, 0, 0, 0, 0, 0, 1, 0]), ("PublicTest", "tie", [0, 0, 3, 3, 0, 0, 0, 0, 2, 2]),
             ("Training", "unknown", [2, 0, 0, 0, 0, 0, 0, 0, 7, 1]), ("Training", "NF", [1, 0, 0, 0, 0, 0, 0, 0, 0, 9]),
             ("PrivateTest", "no_votes", [0] * 10), ("Training", "empty_image_name", [10, 0, 0, 0, 0, 0, 0, 0, 0, 0])]
    for usage, why, votes in extra:
        fer.append({"usage": usage, "name": "" if why == "empty_image_name" else f"fer{len(fer):07d}.png",
                    "votes": votes, "why": why})
    train, val, images = [], [], {}
    box = (12, 8, 40, 48)  # x, y, w, h inside a 64 (h) x 80 (w) image
    code_of = {"neutral": 0, "happiness": 1, "sadness": 2, "surprise": 3, "fear": 4, "disgust": 5, "anger": 6,
               "contempt": 7}
    for c, name in enumerate(classes):
        for split, rows, n in (("training", train, per_class), ("validation", val, 2)):
            for k in range(n):
                path = f"{len(images) % 3}/{split}_{name}_{k}.png"
                face = np.repeat(class_face(c, (box[3], box[2]), rng)[:, :, None], 3, axis=2)
                img = np.full((64, 80, 3), 250, np.uint8)  # a white frame around the face box
                img[box[1]: box[1] + box[3], box[0]: box[0] + box[2]] = face
                images[path] = img
                rows.append({"path": path, "box": box, "expression": code_of[name]})
    for code in (8, 9, 10):
        path = f"9/dropped_{code}.png"
        images[path] = np.full((64, 80, 3), 30 * code % 256, np.uint8)
        train.append({"path": path, "box": box, "expression": code, "why": f"expression {code}"})
    train.append({**train[0], "why": "duplicate_path"})  # the same path listed twice
    copy = "9/copy_of_first.png"
    images[copy] = images[train[1]["path"]]  # the same bytes under another name
    train.append({"path": copy, "box": box, "expression": train[1]["expression"], "why": "duplicate_content"})
    sequences = []
    for code in CK_CODES:
        for subject in (1, 2):
            sequences.append({"subject": subject, "seq": code, "frames": 4, "code": f"{code}.0000000e+00",
                              "label_frame": 4 if subject == 1 else 3})
    sequences.append({"subject": 3, "seq": 1, "frames": 3, "code": None})
    return {"ferplus": fer, "affectnet": (train, val, images), "ckplus": sequences}


def write_miniature_corpora(root, specs: dict) -> dict:
    """Write `miniature_specs(...)` under `root` as ferplus/, affectnet/, ckplus/; return {name: folder}."""
    root = Path(root)
    fer = specs["ferplus"]
    pixels = {i: " ".join(map(str, r["pixels"].ravel().tolist())) for i, r in enumerate(fer) if "pixels" in r}
    write_ferplus(root / "ferplus", [{k: v for k, v in r.items() if k not in ("why", "pixels")} for r in fer],
                  pixels_override=pixels)
    train, val, images = specs["affectnet"]
    strip = lambda rows: [{k: v for k, v in r.items() if k != "why"} for r in rows]  # noqa: E731
    write_affectnet(root / "affectnet", strip(train), strip(val), images)
    write_ckplus(root / "ckplus", specs["ckplus"], shape=(60, 80))
    return {k: root / k for k in ("ferplus", "affectnet", "ckplus")}
