"""read_affectnet keeps memory bounded: the output is never materialised in the process.

A child process reads an 800-image corpus at 256x256 RGB (157 MB of output) under an address-space
rule it cannot dodge: RLIMIT_DATA (private writable memory: heap, anonymous mappings, numpy
buffers, decoded PIL images) is set to what the child uses after its imports plus 48 MB, a third
of the output. Holding the output in RAM (np.empty + fill, a list of decoded images) then fails
with MemoryError. The child shows the limit binds by failing to allocate an array of the output's
size afterwards. Writing through a memory-mapped file escapes RLIMIT_DATA, so the child's peak
resident set (ru_maxrss, which counts written pages of a shared mapping) must also grow by less
than a third of the output. Each image is one colour unique to it, so the cache is checked
pixel for pixel without the reader's own functions.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

from pathlib import Path

import numpy as np
import pytest

import rbdm_core
from fixtures_writers import write_affectnet

N, SIDE, MARGIN = 800, 256, 48 * 2**20

_CHILD = r"""
import json, resource, sys
import numpy as np
import rbdm_core.data.affectnet as an
root, cache, side, margin = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])

def vm_data():
    for line in open("/proc/self/status"):
        if line.startswith("VmData:"):
            return int(line.split()[1]) * 1024

limit = vm_data() + margin
resource.setrlimit(resource.RLIMIT_DATA, (limit, resource.getrlimit(resource.RLIMIT_DATA)[1]))
rss0 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
ds = an.read_affectnet(root, size=side, cache_dir=cache, progress=False, shard_rows=256)
rss1 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
try:
    np.ones(ds.images.nbytes, np.uint8)
    binds = False
except MemoryError:
    binds = True
firsts = ds.images[:, 0, 0, :].astype(int).tolist()   # one pixel row per image, read from the mapping
uniform = all(bool((ds.images[j] == ds.images[j, 0, 0]).all()) for j in range(0, len(ds), 97))
print(json.dumps({"n": len(ds), "nbytes": int(ds.images.nbytes), "rss_growth": rss1 - rss0,
                  "binds": binds, "ids": list(ds.ids), "firsts": firsts, "uniform": bool(uniform)}))
"""


def _colour(j: int) -> tuple[int, int, int]:
    return (j % 256, j // 256, 200)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="RLIMIT_DATA and /proc/self/status are Linux's")
def test_read_affectnet_memory_is_bounded(tmp_path):
    images, training, validation = {}, [], []
    for j in range(N):
        path = f"{j // 100 + 1}/img{j:04d}.png"
        images[path] = np.full((12, 16, 3), _colour(j), np.uint8)
        (validation if j % 10 == 0 else training).append({"path": path, "box": (2, 1, 10, 9), "expression": j % 8})
    root = write_affectnet(tmp_path / "affectnet", training, validation, images)

    # the child imports the rbdm_core this test imported (not whatever its working folder holds)
    src = str(Path(rbdm_core.__file__).resolve().parents[1])
    env = dict(os.environ, TQDM_DISABLE="1", PYTHONPATH=os.pathsep.join([src, os.environ.get("PYTHONPATH", "")]))
    proc = subprocess.run([sys.executable, "-c", _CHILD, str(root), str(tmp_path / "cache"), str(SIDE), str(MARGIN)],
                          capture_output=True, text=True, env=env, cwd=tmp_path, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    r = json.loads(proc.stdout.strip().splitlines()[-1])

    assert r["n"] == N and r["nbytes"] == N * SIDE * SIDE * 3 > 3 * MARGIN
    assert r["binds"], "the RLIMIT_DATA limit did not refuse an output-sized array: the test would prove nothing"
    assert r["rss_growth"] < r["nbytes"] / 3, f"resident set grew by {r['rss_growth']} bytes while reading"
    # the cache holds every face, in the csv's order (training then validation), each its own colour
    order = [t["path"] for t in training] + [v["path"] for v in validation]
    assert r["ids"] == order
    expected = [list(_colour(int(p.split("img")[1][:4]))) for p in order]
    assert r["firsts"] == expected
    assert r["uniform"]
