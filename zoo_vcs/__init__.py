"""zoo-vcs: version control for Caffe Model Zoo model directories.

Public API (everything else is importable but not promised)::

    import zoo_vcs
    zoo_vcs.add("models/alexnet/bvlc_alexnet.caffemodel")   # track a binary
    zoo_vcs.checkout()                                       # restore every binary, verified
    zoo_vcs.fetch_model("models/alexnet")                    # -> [Path to verified weights]
    zoo_vcs.get("https://example.org/zoo.git", "models/alexnet", rev="v1")  # no clone
"""

from __future__ import annotations

import logging

__version__ = "0.1.0"

from zoo_vcs.api import add as add
from zoo_vcs.api import checkout as checkout
from zoo_vcs.api import fetch as fetch
from zoo_vcs.api import fetch_model as fetch_model
from zoo_vcs.api import gc as gc
from zoo_vcs.api import get as get
from zoo_vcs.api import init as init
from zoo_vcs.api import pull as pull
from zoo_vcs.api import push as push
from zoo_vcs.api import status as status
from zoo_vcs.api import verify as verify
from zoo_vcs.errors import IntegrityError as IntegrityError
from zoo_vcs.errors import ZooError as ZooError
from zoo_vcs.formats.pointer import Pointer as Pointer

__all__ = ["IntegrityError", "Pointer", "ZooError", "__version__", "add", "checkout", "fetch",
           "fetch_model", "gc", "get", "init", "pull", "push", "status", "verify"]

logging.getLogger(__name__).addHandler(logging.NullHandler())
