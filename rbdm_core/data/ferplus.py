"""FERPlus reader: `fer2013.csv` (pixels) + `fer2013new.csv` (10 crowd votes per image).

The two files have the same rows in the same order (35,887 each). Row i of fer2013.csv holds the
48x48 grayscale face (`pixels`: 2304 space-separated ints 0..255, row-major) and row i of
fer2013new.csv its votes: neutral, happiness, surprise, sadness, anger, disgust, fear, contempt,
unknown, NF (not a face). Rows whose `Image name` is empty were dropped by FERPlus and are dropped
here. A label comes from the votes by one of two rules (see `label_votes`).
"""

from __future__ import annotations

import csv
import itertools
import sys
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
from tqdm.auto import tqdm

from rbdm_core.data.dataset import FERPLUS_CLASSES, FERPLUS_SPLITS, Dataset
from rbdm_core.progress import disabled

#: Vote columns of fer2013new.csv, in file order: the 8 FERPlus classes, then unknown and NF.
VOTE_COLUMNS: tuple[str, ...] = FERPLUS_CLASSES + ("unknown", "NF")
FER2013_COLUMNS = ("emotion", "pixels", "Usage")
FER2013NEW_COLUMNS = ("Usage", "Image name") + VOTE_COLUMNS
RULES = ("paper", "ferplus-majority")
SIDE = 48
N_PIXELS = SIDE * SIDE
#: Rows parsed per block of fer2013.csv (bounds the memory held as text).
CHUNK_ROWS = 2048


def _line(i: int) -> str:
    """Human row reference: data row i (0-based) is line i + 2 of the file (line 1 = header)."""
    return f"row {i} (line {i + 2})"


def _check_file(path: str | Path, what: str) -> Path:
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{what} file {path} does not exist")
    return path


def _check_header(path: Path, columns, expected) -> None:
    missing = [c for c in expected if c not in columns]
    if missing:
        raise ValueError(
            f"{path}: missing column(s) {missing}; expected header columns {list(expected)}, "
            f"found {list(columns)}"
        )


# --------------------------------------------------------------------------- labelling rules
def label_votes(votes: np.ndarray, rule: str = "paper") -> tuple[np.ndarray, np.ndarray]:
    """Labels from FERPlus vote counts.

    votes: (N, 10) non-negative ints in VOTE_COLUMNS order.
    rule:
      - "paper": the column with the most votes. A row is dropped when two or more columns
        share the top count ("tie", counted), when `unknown` or `NF` is the sole top column
        ("unknown", "NF"), or when it has no vote at all ("no_votes").
      - "ferplus-majority": FERPlus's own `majority` mode (its `_process_data`): every count
        equal to 1 is set to 0 (single votes are outliers); the top column is kept only when
        its count is greater than half of the sum of the remaining counts (all 10 columns),
        otherwise the row is dropped ("no_majority"); an `unknown` or `NF` winner is dropped
        ("unknown", "NF"). A strict majority cannot be tied.
    Returns (labels (N,) int64, -1 where dropped; reasons (N,) object, "" where kept).
    """
    if rule not in RULES:
        raise ValueError(f"rule: expected one of {RULES}, got {rule!r}")
    v = np.asarray(votes, dtype=np.int64)
    if v.ndim != 2 or v.shape[1] != len(VOTE_COLUMNS):
        raise ValueError(f"votes: expected shape (N, {len(VOTE_COLUMNS)}), got {v.shape}")
    n = len(v)
    labels = np.full(n, -1, dtype=np.int64)
    reasons = np.full(n, "", dtype=object)
    if rule == "ferplus-majority":
        v = np.where(v <= 1, 0, v)
    top = v.max(axis=1) if n else np.zeros(0, np.int64)
    winner = v.argmax(axis=1) if n else np.zeros(0, np.int64)
    total = v.sum(axis=1)
    if rule == "paper":
        n_top = (v == top[:, None]).sum(axis=1)
        no_votes = total == 0
        tie = (n_top > 1) & ~no_votes
        reasons[no_votes] = "no_votes"
        reasons[tie] = "tie"
        undecided = no_votes | tie
    else:
        undecided = ~(2 * top > total)  # top > 0.5 * sum, in integers
        reasons[undecided] = "no_majority"
    unknown = ~undecided & (winner == VOTE_COLUMNS.index("unknown"))
    nf = ~undecided & (winner == VOTE_COLUMNS.index("NF"))
    reasons[unknown] = "unknown"
    reasons[nf] = "NF"
    keep = ~undecided & ~unknown & ~nf
    labels[keep] = winner[keep]
    return labels, reasons


# --------------------------------------------------------------------------- fer2013.csv pixels
def _parse_rows_slow(pixels: list, first_row: int, path: Path) -> None:
    """Find and report the first bad pixels field (called only when the fast parse failed)."""
    for k, text in enumerate(pixels):
        row = first_row + k
        tokens = str(text).split() if isinstance(text, str) else []
        if len(tokens) != N_PIXELS:
            raise ValueError(
                f"{path} {_line(row)}: pixels field has {len(tokens)} values, expected {N_PIXELS} "
                f"({SIDE}x{SIDE} space-separated ints 0..255)"
            )
        try:
            vals = np.array([int(t) for t in tokens], dtype=np.int64)
        except ValueError:
            bad = next(t for t in tokens if not t.lstrip("-").isdigit())
            raise ValueError(
                f"{path} {_line(row)}: pixels field holds {bad!r}, expected ints 0..255"
            ) from None
        if vals.min() < 0 or vals.max() > 255:
            bad = int(vals[(vals < 0) | (vals > 255)][0])
            raise ValueError(f"{path} {_line(row)}: pixel value {bad} is outside 0..255")
    raise ValueError(f"{path} rows {first_row}..{first_row + len(pixels) - 1}: pixels could not be parsed")


def parse_pixels(pixels, first_row: int = 0, path: str | Path = "fer2013.csv") -> np.ndarray:
    """Space-separated pixel strings -> `(n, 48, 48) uint8`, vectorised.

    The strings are joined with a sentinel `-1` between rows and parsed in one numpy call; a
    row is valid when exactly 2304 values 0..255 sit between two sentinels. On any failure the
    block is re-parsed row by row to name the first bad row (`first_row` = index of pixels[0]).
    """
    pixels = list(pixels)
    n = len(pixels)
    if n == 0:
        return np.zeros((0, SIDE, SIDE), np.uint8)
    ok = all(isinstance(p, str) for p in pixels)
    if ok:
        text = " -1 ".join(pixels) + " -1"
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            flat = np.fromstring(text, dtype=np.int16, sep=" ")
        del text
        ok = flat.size == n * (N_PIXELS + 1)
        if ok:
            grid = flat.reshape(n, N_PIXELS + 1)
            body = grid[:, :N_PIXELS]
            ok = bool((grid[:, N_PIXELS] == -1).all() and body.min() >= 0 and body.max() <= 255)
    if not ok:
        _parse_rows_slow(pixels, first_row, Path(path))
    return body.astype(np.uint8).reshape(n, SIDE, SIDE)


# --------------------------------------------------------------------------- reader
def read_votes(fer2013new_csv: str | Path) -> pd.DataFrame:
    """fer2013new.csv as a DataFrame (Usage, Image name ('' when empty), 10 int vote columns)."""
    path = _check_file(fer2013new_csv, "fer2013new.csv (FERPlus votes)")
    try:
        df = pd.read_csv(path, dtype={"Usage": str, "Image name": str}, keep_default_na=False)
    except pd.errors.EmptyDataError:
        raise ValueError(f"{path}: file is empty, expected header {list(FER2013NEW_COLUMNS)}") from None
    _check_header(path, df.columns, FER2013NEW_COLUMNS)
    for col in VOTE_COLUMNS:
        values = pd.to_numeric(df[col].replace("", np.nan), errors="coerce")
        bad = values.isna() | (values < 0) | (values != np.floor(values))
        if bad.any():
            i = int(np.flatnonzero(bad.to_numpy())[0])
            raise ValueError(
                f"{path} {_line(i)}: column {col!r} holds {df[col].iloc[i]!r}, expected a vote count "
                f"(non-negative int)"
            )
        df[col] = values.astype(np.int64)
    df["Image name"] = df["Image name"].str.strip()
    df["Usage"] = df["Usage"].str.strip()
    return df


def read_ferplus(
    fer2013_csv: str | Path,
    fer2013new_csv: str | Path,
    rule: str = "paper",
    progress: bool = True,
) -> Dataset:
    """Read FERPlus into a Dataset of `(N, 48, 48, 1) uint8` images.

    fer2013_csv:    path of fer2013.csv (`emotion,pixels,Usage`; emotion 0..6 is checked, not used)
    fer2013new_csv: path of fer2013new.csv (`Usage,Image name,<10 vote columns>`), same row order
    rule:           "paper" or "ferplus-majority" (see `label_votes`)
    progress:       tqdm progress bar on stderr while parsing pixels
    Labels index FERPLUS_CLASSES; split = the official Usage (Training, PublicTest, PrivateTest);
    ids = FERPlus image names. provenance["dropped"] counts dropped rows by reason
    ("empty_image_name", "tie", "unknown", "NF", "no_votes", "no_majority"); provenance["ties"]
    is the number of ties (rule "paper").
    """
    # long: the two csv files are checked against each other while the pixels stream in under one progress bar; the drop counts and provenance come from the same arrays
    if rule not in RULES:
        raise ValueError(f"rule: expected one of {RULES}, got {rule!r}")
    p_old = _check_file(fer2013_csv, "fer2013.csv (FER2013 pixels)")
    p_new = Path(fer2013new_csv)
    votes = read_votes(p_new)
    n_rows = len(votes)

    usage_new = votes["Usage"].to_numpy(dtype=object)
    bad_usage = ~np.isin(usage_new, FERPLUS_SPLITS)
    if bad_usage.any():
        i = int(np.flatnonzero(bad_usage)[0])
        raise ValueError(f"{p_new} {_line(i)}: Usage {usage_new[i]!r}, expected one of {FERPLUS_SPLITS}")

    named = (votes["Image name"] != "").to_numpy()
    labels_all, reasons = label_votes(votes[list(VOTE_COLUMNS)].to_numpy(), rule)
    reasons = reasons.copy()
    reasons[~named] = "empty_image_name"
    labels_all[~named] = -1
    keep = labels_all >= 0
    slot = np.cumsum(keep) - 1  # position of each kept row in the output

    images = np.zeros((int(keep.sum()), SIDE, SIDE, 1), np.uint8)
    seen = 0
    bar = _progress(n_rows, progress, f"reading {p_old.name}")
    try:
        with open(p_old, newline="") as fh:
            reader = csv.reader(fh)
            header = [h.strip() for h in next(reader, [])]
            if not header:
                raise ValueError(f"{p_old}: file is empty, expected header {list(FER2013_COLUMNS)}")
            _check_header(p_old, header, FER2013_COLUMNS)
            ie, ip, iu = (header.index(c) for c in FER2013_COLUMNS)
            while True:
                block = [r for r in itertools.islice(reader, CHUNK_ROWS) if r]  # blank lines skipped
                if not block:
                    break
                m = len(block)
                if seen + m > n_rows:
                    raise ValueError(
                        f"{p_old} has more rows than {p_new} ({n_rows}); the two files must have the same rows"
                    )
                bad_len = [k for k, r in enumerate(block) if len(r) != len(header)]
                if bad_len:
                    k = bad_len[0]
                    raise ValueError(
                        f"{p_old} {_line(seen + k)}: {len(block[k])} fields, expected {len(header)} ({header})"
                    )
                rows = np.arange(seen, seen + m)
                _check_emotion(pd.Series([r[ie] for r in block]), seen, p_old)
                usage_old = np.array([r[iu].strip() for r in block], dtype=object)
                differ = usage_old != usage_new[rows]
                if differ.any():
                    i = int(rows[np.flatnonzero(differ)[0]])
                    raise ValueError(
                        f"Usage differs at {_line(i)}: {p_old} says {usage_old[i - seen]!r}, "
                        f"{p_new} says {usage_new[i]!r} (the two files must list the same rows in the same order)"
                    )
                pix = parse_pixels([r[ip] for r in block], seen, p_old)
                k = keep[rows]
                images[slot[rows[k]], :, :, 0] = pix[k]
                seen += m
                bar.update(m)
    finally:
        bar.close()
    if seen != n_rows:
        raise ValueError(
            f"{p_old} has {seen} rows but {p_new} has {n_rows}; the two files must have the same rows"
        )

    dropped = {r: int((reasons == r).sum()) for r in
               ("empty_image_name", "tie", "unknown", "NF", "no_votes", "no_majority")
               if (reasons == r).any()}
    provenance = {
        "synthetic": False,
        "source": "ferplus",
        "files": [str(p_old.resolve()), str(p_new.resolve())],
        "rule": rule,
        "rows": n_rows,
        "kept": int(keep.sum()),
        "dropped": dropped,
        "ties": int((reasons == "tie").sum()),
    }
    return Dataset(
        images=images,
        labels=labels_all[keep],
        class_names=FERPLUS_CLASSES,
        split=usage_new[keep],
        ids=votes["Image name"].to_numpy(dtype=object)[keep],
        provenance=provenance,
    )


def _check_emotion(col: pd.Series, first_row: int, path: Path) -> None:
    values = pd.to_numeric(col.replace("", np.nan), errors="coerce").to_numpy(dtype=float)
    bad = np.isnan(values) | (values < 0) | (values > 6) | (values != np.floor(values))
    if bad.any():
        k = int(np.flatnonzero(bad)[0])
        raise ValueError(
            f"{path} {_line(first_row + k)}: emotion {col.iloc[k]!r} is out of range, expected an int 0..6 "
            f"(Angry, Disgust, Fear, Happy, Sad, Surprise, Neutral)"
        )


def _progress(total: int, enabled: bool, desc: str):
    return tqdm(total=total, disable=disabled(not enabled), desc=desc, unit="row", file=sys.stderr, leave=False)
