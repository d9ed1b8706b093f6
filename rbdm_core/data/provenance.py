"""What a reader did to a corpus, as one table: rows read, rows dropped by reason, images made.

Every reader (`ferplus`, `affectnet`, `ckplus`, `folder`) returns its counts in
`Dataset.provenance`; `provenance_table` lays them out side by side for the data chapter, so a
reader of the book sees the vote rule, the face-box crops and the frames taken.
"""

from __future__ import annotations

from typing import Mapping

import pandas as pd

from rbdm_core.data.dataset import Dataset


def provenance_rows(ds: Dataset) -> list[tuple[str, int]]:
    """[(step, count)] of one real corpus's reader, in the order the reader applies them."""
    p = ds.provenance or {}
    src = p.get("source")
    dropped = [(f"dropped: {reason}", int(n)) for reason, n in (p.get("dropped") or {}).items()]
    if src == "ferplus":
        return [("rows in fer2013new.csv", int(p["rows"])), *dropped,
                (f"kept by the vote rule ({p['rule']})", int(p["kept"]))]
    if src == "affectnet":
        return [("rows in the lists", int(p["listed"])), *dropped, ("kept", int(p["kept"])),
                ("images cropped to their face box", int(p["cropped_to_face_box"]))]
    if src == "ckplus":
        return [("labelled sequences", int(p["sequences"])), *dropped,
                ("first frames read (neutral)", int(p["first_frames"])),
                ("last frames read (labelled)", int(p["last_frames"])),
                ("emotion file names another frame than the last", int(p["label_frame_not_last"]))]
    if src == "folder":
        return [*dropped, ("images read", int(p["images"]))]
    return [("images", len(ds))]


def provenance_table(corpora: Mapping[str, Dataset]) -> pd.DataFrame:
    """Columns corpus, step, count: `provenance_rows` of each named corpus, in the given order."""
    rows = [(name, step, n) for name, ds in corpora.items() for step, n in provenance_rows(ds)]
    return pd.DataFrame(rows, columns=["corpus", "step", "count"])
