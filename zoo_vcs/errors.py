"""The ``ZooError`` exception hierarchy: structured fields, messages built here, exit codes.

Every error zoo-vcs raises on purpose derives from :class:`ZooError`. Each class
declares the process exit code the CLI maps it to (SPEC 3: 1 for a failed check or
transfer, 2 for bad usage); the library itself never exits or prints.
"""

from __future__ import annotations

from collections.abc import Sequence


class ZooError(Exception):
    """Root of every error zoo-vcs raises on purpose."""

    exit_code: int = 1
    #: A short "what to do next" shown by the CLI under the message.
    hint: str | None = None

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        if hint is not None:
            self.hint = hint


class UsageError(ZooError):
    """The command line or the arguments of an API call are wrong."""

    exit_code = 2


class ConfigError(ZooError):
    """A configuration file or setting is invalid, or an optional backend is missing."""

    exit_code = 2


class FrontmatterError(ZooError, ValueError):
    """A readme's frontmatter cannot be read or rewritten."""

    def __init__(self, path: str, message: str, *, line: int | None = None,
                 hint: str | None = None) -> None:
        self.path = path
        self.line = line
        where = f"{path}:{line}" if line is not None else path
        super().__init__(f"{where}: {message}", hint=hint)


class UnsafeReadmeError(FrontmatterError):
    """A readme that must not be read at all, even tolerantly: a YAML tag a safe loader
    refuses, an alias bomb, or an unresolved merge (conflict markers)."""


class PointerError(ZooError, ValueError):
    """A pointer file is malformed or names an unusable location."""

    def __init__(self, path: str, message: str, *, line: int | None = None) -> None:
        self.path = path
        self.line = line
        where = f"{path}:{line}" if line is not None else path
        super().__init__(f"{where}: {message}")


class PathError(ZooError, ValueError):
    """A file name would escape its model directory or names something it must not."""

    def __init__(self, path: str, message: str) -> None:
        self.path = path
        super().__init__(f"{path}: {message}")


class IntegrityError(ZooError):
    """Bytes did not hash (or size) to what their pointer promised."""

    def __init__(self, path: str, *, expected: str, actual: str, url: str | None = None,
                 size: int | None = None, algorithm: str = "sha1") -> None:
        self.path = path
        self.url = url
        self.expected = expected
        self.actual = actual
        self.size = size
        self.algorithm = algorithm
        source = f" from {url}" if url else ""
        super().__init__(
            f"{path}: {algorithm} mismatch{source}: expected {expected}, got {actual}",
            hint="the source holds different bytes than the pointer names; "
            "fix the URL or the hash, or try another source",
        )


class SizeMismatchError(IntegrityError):
    """A store holds another size than an object's: the one size rule of every transfer.

    zoo-vcs never repairs a remote by itself (no delete, no overwrite).
    """

    def __init__(self, url: str, *, sha1: str, expected: int, found: int | None,
                 uploaded: bool = False) -> None:
        got = "no object" if found is None else f"{found} bytes"
        ZooError.__init__(
            self,
            f"{url}: {'upload check failed: ' if uploaded else ''}the remote holds {got} "
            f"for {sha1[:12]}, expected {expected} bytes"
            + ("" if uploaded else "; left untouched"),
            hint="run the push again" if uploaded else
            "check the remote; remove that object by hand to upload it again")
        self.path = self.url = url
        self.expected, self.actual = f"{expected} bytes", got
        self.size, self.algorithm = found, "size"


class ConflictError(ZooError):
    """A workspace file holds changes that are in no pointer and no cache: a user's work.

    With ``readme``, the files are named by readme frontmatter (no pointer): such a file is
    more likely a truncated download of the original Caffe script than work to keep, so
    the hint offers ``--force`` and not ``add`` (which would pin the wrong bytes).
    """

    def __init__(self, paths: Sequence[str], *, readme: bool = False) -> None:
        self.paths = list(paths)
        self.readme = readme
        shown = ", ".join(self.paths[:5]) + (" ..." if len(self.paths) > 5 else "")
        if readme:
            super().__init__(
                f"{shown}: differs from the readme's sha1 and is in no cache (an interrupted "
                "download?); not overwritten",
                hint="download it again over this file with 'zoo-vcs checkout --force PATH' "
                     "(or 'zoo-vcs download-binary --force DIR')")
            return
        super().__init__(
            f"{shown}: modified locally and not in the cache; not overwritten",
            hint="keep it with 'zoo-vcs add FILE', or discard it with 'zoo-vcs checkout --force'",
        )


class ObjectNotFoundError(ZooError, FileNotFoundError):
    """No source (workspace, cache, URL, remote) could provide an object."""

    def __init__(self, path: str, sha1: str, reasons: Sequence[str] = (), *,
                 hint: str | None = None) -> None:
        self.path = path
        self.sha1 = sha1
        self.reasons = list(reasons)
        detail = "; ".join(self.reasons) if self.reasons else "no source is known"
        super().__init__(f"{path}: could not get {sha1[:12]}: {detail}", hint=hint)


class ExistsError(ZooError, FileExistsError):
    """The target of a download already exists; nothing was written over it."""

    def __init__(self, path: str, what: str = "already exists", *,
                 hint: str | None = None) -> None:
        self.path = path
        super().__init__(f"{path}: {what}; nothing was written", hint=hint)


class TransferError(ZooError):
    """A download or upload failed (network, HTTP status, timeout, web page instead of file)."""

    def __init__(self, url: str, message: str, *, transient: bool = False,
                 retry_after: float | None = None) -> None:
        self.url = url
        self.transient = transient
        self.retry_after = retry_after
        super().__init__(f"{url}: {message}")


class WebPageError(TransferError):
    """A URL answered with an HTML page where a binary file was expected."""

    def __init__(self, url: str) -> None:
        super().__init__(url, f"this looks like a web page, not the file: {url}")
        self.hint = "use a direct download link (Dropbox: ?dl=1; Google Drive: uc?export=download)"


class OfflineError(TransferError):
    """A source needs the network, and the network is off (``--offline``, ``ZOO_VCS_OFFLINE``)."""

    def __init__(self, url: str) -> None:
        super().__init__(url, "needs the network, and zoo-vcs is offline "
                              "(--offline or ZOO_VCS_OFFLINE=1); not tried")
        self.hint = OFFLINE_HINT


#: What to do about an :class:`OfflineError` (also the hint of failures it caused).
OFFLINE_HINT = "run again without --offline (and with ZOO_VCS_OFFLINE unset) to download it"


class TimeoutTransferError(TransferError):
    """A transfer made no progress for longer than the timeout."""

    def __init__(self, url: str, timeout: float) -> None:
        super().__init__(url, f"no progress for {timeout:g} seconds; gave up", transient=True)
        self.timeout = timeout


class GitError(ZooError):
    """A git operation failed or the folder is not where git expects it."""


class GistError(ZooError):
    """A GitHub gist could not be read, created or updated."""


class HookError(ZooError):
    """Installing, running or removing a git hook failed."""


class OperationError(ZooError):
    """Some items of a many-file operation failed; the others were done.

    ``errors`` holds each failure (each a ``ZooError`` naming its file) and ``result``
    the operation's record of what did succeed.
    """

    def __init__(self, errors: Sequence[ZooError], result: object = None,
                 *, action: str = "operation") -> None:
        self.errors = list(errors)
        self.result = result
        self.action = action
        n = len(self.errors)
        super().__init__(f"{action} failed for {n} file{'s' if n != 1 else ''}: "
                         f"{self.errors[0] if self.errors else ''}")
