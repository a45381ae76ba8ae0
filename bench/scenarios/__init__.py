"""The scenarios, one module per group; importing this package registers them all
(registry.py). GROUPS, then the order of the ``@scenario`` functions in each module, is
the order of the tables and of ``--only``'s list, and the order they run in (apart from
a scenario's ``before``).

- bigfile: ``add`` (hash + store one big file), ``checkout`` (download + verify it over
  loopback HTTP, served by nginx)
- status: ``status`` (no-op status over many small tracked files)
- folder: ``c1`` add, ``c2`` push to a folder, ``c3`` pull from it (``--many`` files)
- s3: ``e1`` pull from, ``e2`` push to S3 (moto on loopback; e2 runs first)

tracked.py holds what the folder and s3 groups share (the ``--many`` data set committed in
zoo-vcs, dvc and git-lfs repositories).
"""

import importlib

GROUPS = ("bigfile", "status", "folder", "s3")

for _group in GROUPS:
    importlib.import_module(f"scenarios.{_group}")
