"""rbdm_core: the library behind the rbdm book.

Data flows one way: data -> models/training -> saliency -> masking/gaze -> metrics -> viz.
Modules import TensorFlow lazily where they can, so that `rbdm data summary` stays fast.
"""

__version__ = "0.1.0"

from . import timing  # noqa: E402,F401  (records the process's start-up when $RBDM_TIMING is set)
