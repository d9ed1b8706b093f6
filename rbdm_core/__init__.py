"""rbdm_core: the library behind the rbdm book.

Which module may import which: the layer order of docs/architecture.md ("Import layers"),
checked by tests/test_imports.py (no cycles, no import from a later layer).
Modules import TensorFlow lazily where they can, so that `rbdm data summary` stays fast.
"""

__version__ = "0.1.0"

from . import timing  # noqa: E402,F401  (records the process's start-up when $RBDM_TIMING is set)
