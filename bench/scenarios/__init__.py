"""The scenarios, one module per group; importing this package registers them all
(registry.py). GROUPS, then the order of the ``@scenario`` functions in each module, is
the order of the tables and of ``--only``'s list, and the order they run in (apart from
a scenario's ``before``).

- bigfile: ``add`` (hash + store one big file), ``checkout`` (download + verify it over
  loopback HTTP, served by nginx)
- status: ``status`` (no-op status over many small tracked files)
- folder: ``c1`` add, ``c2`` push to a folder, ``c3`` pull from it (``--many`` files)
- s3: ``e1`` pull from, ``e2`` push to S3 (moto on loopback; e2 runs first)
- remote_status: ``status-remote`` (are the objects on the S3 remote?)
- remote_repo: ``get`` one model, ``ls`` every binary of a repository served over HTTP
- gc_history: ``gc`` on a long history
- migrate: ``migrate`` weights committed into git out of it (vs git lfs migrate import)

tracked.py holds what the folder and s3 groups share (the ``--many`` data set committed in
zoo-vcs, dvc and git-lfs repositories).
"""

import importlib

GROUPS = ("bigfile", "status", "folder", "s3", "remote_status", "remote_repo", "gc_history",
          "migrate")

for _group in GROUPS:
    importlib.import_module(f"scenarios.{_group}")
