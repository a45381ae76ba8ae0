"""The Model Zoo page: one row per model found in model directories and gists, as Markdown
or JSON, with an optional reachability check of every weights URL.

Collecting reads readmes and pointers (local folders, or gists through their git remote);
rendering is pure and round-trips through JSON.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

from zoo_vcs.errors import ZooError
from zoo_vcs.formats import frontmatter
from zoo_vcs.formats import pointer as ptr
from zoo_vcs.formats.urls import is_http
from zoo_vcs.repo import modeldir
from zoo_vcs.repo.context import Repository
from zoo_vcs.repo.paths import confine
from zoo_vcs.repo.scan import SKIP_DIRS

COLUMNS = ("Model", "License", "Caffe version", "Weights", "SHA1", "Size", "Gist", "Status")
#: The status of a readme in which no Model Zoo key was found.
NO_KEYS = "no Model Zoo keys"


@dataclass(frozen=True)
class Row:
    """One model of the zoo, and what is known (or missing) about it."""

    name: str
    source: str
    license: str | None = None
    caffe_version: str | None = None
    weights: str | None = None
    weights_url: str | None = None
    sha1: str | None = None
    size: int | None = None
    gist_id: str | None = None
    gist_url: str | None = None
    status: str = "not checked"
    missing: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        d = asdict(self)
        d["missing"] = list(self.missing)
        return d

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Row:
        """Inverse of :meth:`to_dict`."""
        values = dict(data)
        values["missing"] = tuple(values.get("missing") or ())
        return cls(**values)


def rows_to_json(rows: Sequence[Row]) -> str:
    """The page as JSON (``index build --json``)."""
    return json.dumps({"models": [r.to_dict() for r in rows]}, indent=2)


def rows_from_json(text: str) -> list[Row]:
    """Rows back from :func:`rows_to_json` output."""
    return [Row.from_dict(m) for m in json.loads(text)["models"]]


def _cell(value: object) -> str:
    text = "" if value is None else str(value)
    return text.replace("\\", "\\\\").replace("|", "\\|").replace("\n", " ").strip()


def _human_size(size: int | None) -> str:
    if size is None:
        return ""
    value = float(size)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if value < 1024 or unit == "GiB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{size} B"


def _link(text: str | None, url: str | None) -> str:
    if not url:
        return _cell(text)
    return f"[{_cell(text or url)}]({url.replace(' ', '%20').replace(')', '%29')})"


def render_markdown(rows: Sequence[Row], title: str = "Model Zoo") -> str:
    """Pure: the Markdown page for ``rows``."""
    lines = [f"# {title}", "",
             f"{len(rows)} model{'s' if len(rows) != 1 else ''}. Get one with "
             "`zoo-vcs download-binary DIR` (or `zoo-vcs download-gist GIST DIR`, then "
             "`zoo-vcs checkout DIR`).", "",
             "| " + " | ".join(COLUMNS) + " |", "|" + "---|" * len(COLUMNS)]
    for r in rows:
        commit = r.caffe_version or ""
        if len(commit) == 40 and all(c in "0123456789abcdef" for c in commit):
            commit = commit[:7]
        status = "; ".join([r.status, *r.missing]) if r.missing else r.status
        cells = [_cell(r.name), _cell(r.license), _cell(commit),
                 _link(r.weights or (r.weights_url or "").rsplit("/", 1)[-1] or None,
                       r.weights_url),
                 f"`{r.sha1[:10]}`" if r.sha1 else "", _human_size(r.size),
                 _link(r.gist_id, r.gist_url) if r.gist_id else "", _cell(status)]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def rows_from_readme(text: str, source: str, *, pointers: Mapping[str, ptr.Pointer] = {},
                     gist_url: str | None = None) -> list[Row]:
    """Pure: the rows of one readme (and the pointers beside it, keyed by binary name)."""
    try:
        readme = frontmatter.parse(text, path=source)
    except ZooError as exc:  # a tag, an alias bomb, conflict markers: listed, never read
        return [Row(name=_title_of(text) or Path(source).parent.name or source, source=source,
                    status="unreadable", missing=(str(exc),))]
    gist_id = readme.gist_id
    if gist_id and gist_url is None:
        gist_url = f"https://gist.github.com/{gist_id}"
    if not readme.models:
        # Said as such, not a row of nothing (SPEC 4: never silently zero binaries).
        why = readme.problems[0].message if readme.problems else "no model keys"
        return [Row(name=_title_of(text) or Path(source).parent.name or source, source=source,
                    gist_id=gist_id, gist_url=gist_url, status=NO_KEYS, missing=(why,))]
    rows = []
    for model in readme.models:
        p = pointers.get(model.caffemodel or "")
        sha1 = p.sha1 if p else (model.sha1 or None)
        url = next((u for u in p.urls if is_http(u)), None) if p else None
        url = url or model.caffemodel_url
        missing = [f"no {key}" for key, value in (("sha1", sha1), ("license", model.license),
                                                  ("caffe_commit", model.caffe_commit),
                                                  ("caffemodel_url", url)) if not value]
        status = "no sha1" if not sha1 else "not checked"
        if sha1 and not ptr.SHA1_RE.match(sha1):
            status = "bad sha1"
        rows.append(Row(
            name=(model.name or "").strip() or model.caffemodel or Path(source).parent.name,
            source=source, license=model.license, caffe_version=model.caffe_commit,
            weights=model.caffemodel, weights_url=url, sha1=sha1, size=p.size if p else None,
            gist_id=gist_id, gist_url=gist_url if gist_id else None, status=status,
            missing=tuple(m for m in missing if m != "no sha1")))
    return rows


def _title_of(text: str) -> str | None:
    for line in text.splitlines():
        if line.startswith("#"):
            return line.lstrip("#").strip() or None
    return None


def _pointers_in(folder: Path) -> dict[str, ptr.Pointer]:
    found = {}
    for path in folder.glob("*" + ptr.SUFFIX):
        try:
            found[ptr.binary_path_for(path.name)] = ptr.decode(path.read_bytes(), str(path))
        except (ZooError, OSError):
            continue
    return found


def readmes_under(paths: Iterable[Path]) -> list[Path]:
    """Every model directory's readme in ``paths`` (folders are searched recursively)."""
    out: list[Path] = []
    for top in paths:
        if top.is_file():
            out.append(top)
            continue
        for folder, dirs, files in os.walk(top):
            dirs[:] = sorted(d for d in dirs if d not in SKIP_DIRS)
            out.extend(Path(folder) / f for f in sorted(files) if modeldir.is_readme(f))
    return out


def collect(sources: Sequence[str], repo: Repository, *, check: bool = False,
            verify_local: bool = False) -> list[Row]:
    """Rows for every model in ``sources`` (folders, readmes, gist ids/URLs)."""
    rows: list[Row] = []
    for source in sources:
        path = Path(source)
        if path.exists():
            for readme in readmes_under([path]):
                try:
                    text = modeldir.read_text(readme)
                except ZooError as exc:
                    rows.append(Row(name=readme.parent.name, source=str(readme),
                                    status="unreadable", missing=(str(exc),)))
                    continue
                found = rows_from_readme(text, str(readme), pointers=_pointers_in(readme.parent))
                rows.extend(_local_state(r, readme.parent) if verify_local else r
                            for r in found)
        else:
            from zoo_vcs.gist import sync as gistsync

            info, files = gistsync.read_gist(source)
            readme_name = next((n for n in files if modeldir.is_readme(n)), None)
            if readme_name is None:
                rows.append(Row(name=info.description or info.id, source=source,
                                gist_id=info.id, gist_url=info.html_url, status="unreadable",
                                missing=("the gist has no readme.md",)))
                continue
            pointers = {}
            for name, data in files.items():
                if name.endswith(ptr.SUFFIX):
                    try:
                        pointers[ptr.binary_path_for(name)] = ptr.decode(data, name)
                    except ZooError:
                        continue
            rows.extend(rows_from_readme(files[readme_name].decode("utf-8", "replace"),
                                         source, pointers=pointers, gist_url=info.html_url))
    if check:
        rows = probe_rows(rows, repo)
    return sorted(rows, key=lambda r: (r.name.lower(), r.source))


def _local_state(row: Row, folder: Path) -> Row:
    """'verified' when the weights are here and hash right (stat cache first)."""
    if not row.weights or not row.sha1 or row.status != "not checked":
        return row
    try:
        target = confine(folder, row.weights)
    except ZooError:
        return replace(row, status="unsafe caffemodel path")
    if not target.is_file():
        return row
    from zoo_vcs.storage.hashing import hash_file

    actual = hash_file(target).sha1
    size = target.stat().st_size
    if actual == row.sha1:
        return replace(row, status="verified", size=row.size or size)
    return replace(row, status="local file differs")


def probe_rows(rows: Sequence[Row], repo: Repository) -> list[Row]:
    """Check every weights URL with a small Range request, in parallel."""
    from zoo_vcs.transfer.download import probe  # fsspec loads only to probe

    opts = repo.transfer_options()

    def one(row: Row) -> Row:
        if not row.weights_url:
            return row
        try:
            size, is_html = probe(row.weights_url, opts)
        except ZooError as exc:
            return replace(row, status=f"unreachable weights: {str(exc).split(': ', 1)[-1]}")
        if is_html:
            return replace(row, status="web page, not the weights")
        if row.size is not None and size is not None and size != row.size:
            return replace(row, status=f"wrong size: {size} bytes, expected {row.size}")
        new_status = row.status if row.status == "verified" else (
            "reachable" if row.sha1 else "reachable, no sha1")
        return replace(row, status=new_status, size=row.size or size)

    with ThreadPoolExecutor(max_workers=max(1, repo.config.jobs)) as pool:
        return list(pool.map(one, rows))
