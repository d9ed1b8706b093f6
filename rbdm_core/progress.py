"""Progress bars that honour `TQDM_DISABLE` even where a caller passes `disable=` explicitly
(tqdm only reads its environment overrides for arguments left unset)."""

from __future__ import annotations

import os


def disabled(disable: bool = False) -> bool:
    """`disable`, or True when the environment variable TQDM_DISABLE is set to 1/true/yes."""
    return bool(disable) or os.environ.get("TQDM_DISABLE", "").strip().lower() in ("1", "true", "yes")
