"""zoo-vcs: version control for Caffe Model Zoo model directories.

Public API (everything else is importable but not promised)::

    import zoo_vcs
    zoo_vcs.add("models/alexnet/bvlc_alexnet.caffemodel")   # track a binary
    zoo_vcs.checkout()                                       # restore every binary, verified
    zoo_vcs.fetch_model("models/alexnet")                    # -> [Path to verified weights]
"""

from __future__ import annotations

import logging

__version__ = "0.1.0"

from .api import add as add
from .api import checkout as checkout
from .api import fetch_model as fetch_model
from .api import gc as gc
from .api import init as init
from .api import status as status
from .api import verify as verify
from .errors import IntegrityError as IntegrityError
from .errors import ZooError as ZooError
from .pointer import Pointer as Pointer

__all__ = ["IntegrityError", "Pointer", "ZooError", "__version__", "add", "checkout",
           "fetch_model", "gc", "init", "status", "verify"]

logging.getLogger(__name__).addHandler(logging.NullHandler())
