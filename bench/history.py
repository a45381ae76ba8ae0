"""Git repositories with a long history of model folders, written by ``git fast-import`` in
seconds: the repositories of the ``gc``, ``get`` and ``ls`` scenarios, in two flavours with
the same history, zoo-vcs (``w.caffemodel.zoo`` pointers) and dvc (``w.caffemodel.dvc``).

The first commit adds ``models`` folders ``models/m0000/`` ... (a readme and the weights'
pointer each); every later commit gives one model new weights (model ``c % models`` in
commit ``c``) and, with ``text_bytes``, rewrites one of ten notes files with that many
fresh bytes of text (history a full clone has to fetch). The weights' bytes exist nowhere:
their digests are made up (``object-<model>-<commit>``), which is all that ``ls`` and
``gc`` read.
"""

from __future__ import annotations

import base64
import hashlib
import os
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

from harness import BenchError, child_env, run

# What `dvc init` commits (with analytics and the update check off), minus .dvcignore's text.
DVC_GITIGNORE = "/config.local\n/tmp\n/cache\n"
DVC_CONFIG = "[core]\n    analytics = false\n    check_update = false\n"


@dataclass
class History:
    """What :func:`model_history` committed: every version of every model's weights (its
    made-up SHA1 for zoo-vcs, MD5 for dvc, size), and which versions the tip names."""

    sha1: list[str] = field(default_factory=list)  # every version, in commit order
    md5: list[str] = field(default_factory=list)
    tip: dict[str, int] = field(default_factory=dict)  # model folder -> index of its version
    commits: int = 0

    def tip_md5(self) -> set[str]:
        return {self.md5[i] for i in self.tip.values()}


def model_folder(model: int) -> str:
    return f"models/m{model:04d}"


def readme(name: str) -> str:
    return f"---\nname: {name}\n---\n\n# {name}\n\nWeights: w.caffemodel.\n"


def zoo_pointer(sha1: str, size: int, url: str) -> str:
    return f"zoo-vcs: 1\nsha1: {sha1}\nsize: {size}\nurls:\n- {url}\n"


def dvc_file(md5: str, size: int, name: str) -> str:
    return f"outs:\n- md5: {md5}\n  size: {size}\n  hash: md5\n  path: {name}\n"


def _blob(data: bytes) -> bytes:
    return b"data %d\n%s\n" % (len(data), data)


def _file(path: str, text: str | bytes) -> bytes:
    data = text.encode() if isinstance(text, str) else text
    return f"M 100644 inline {path}\n".encode() + _blob(data)


def model_history(repo: Path, flavour: str, *, commits: int, models: int,
                  text_bytes: int = 0, dvc_config: str = DVC_CONFIG) -> History:
    """Write the history into ``repo`` (a fresh ``git init`` is made there) on branch
    ``main``, checked out; ``flavour`` is ``"zoo"`` or ``"dvc"``."""
    run(["git", "init", "-q", "-b", "main", "."], repo)
    h = History(commits=commits)
    # Streamed commit by commit: the whole stream in memory would raise this process's
    # peak RSS, the RSS floor of every later table (README).
    importer = subprocess.Popen(["git", "fast-import", "--quiet"], cwd=repo,
                                stdin=subprocess.PIPE, env=child_env({}))
    assert importer.stdin is not None
    size = 1 << 27  # what the pointers say the weights weigh (128 MiB)

    def weights(model: int, commit: int) -> bytes:
        key = f"object-{model}-{commit}".encode()
        h.sha1.append(hashlib.sha1(key).hexdigest())
        h.md5.append(hashlib.md5(key).hexdigest())
        h.tip[model_folder(model)] = len(h.sha1) - 1
        folder = model_folder(model)
        if flavour == "zoo":
            url = f"https://models.example.org/m{model:04d}/{commit}/w.caffemodel"
            return _file(f"{folder}/w.caffemodel.zoo", zoo_pointer(h.sha1[-1], size, url))
        return _file(f"{folder}/w.caffemodel.dvc", dvc_file(h.md5[-1], size, "w.caffemodel"))

    for c in range(commits):
        message = f"commit {c}".encode()
        lines = [f"commit refs/heads/main\ncommitter Bench <bench@127.0.0.1> "
                 f"{1_600_000_000 + c} +0000\n".encode(), _blob(message)]
        if c == 0:
            if flavour == "dvc":
                lines += [_file(".dvc/.gitignore", DVC_GITIGNORE),
                          _file(".dvc/config", dvc_config), _file(".dvcignore", "")]
            for m in range(models):
                lines += [_file(f"{model_folder(m)}/readme.md", readme(f"Model {m:04d}")),
                          weights(m, 0)]
        else:
            lines.append(weights(c % models, c))
        if text_bytes:
            text = base64.encodebytes(os.urandom(text_bytes * 3 // 4))
            lines.append(_file(f"docs/notes-{c % 10}.txt", text))
        importer.stdin.write(b"".join(lines) + b"\n")
    importer.stdin.close()
    if importer.wait() != 0:
        raise BenchError(f"git fast-import in {repo}: exit {importer.returncode}")
    run(["git", "reset", "-q", "--hard", "main"], repo)
    return h
