"""The decision log's file: a regular file reached without a symbolic link, appended to so that a
failed write leaves nothing behind, and read no further than its size.

The file's bytes are this module's job; what a record holds, and the chain, are `decisionlog`'s.
"""

from __future__ import annotations

import errno
import fcntl
import os
import stat
from pathlib import Path
from typing import Iterator

from .errors import Diagnostic, EngineError, SourceLocation

# Errors that mean the disk (or quota) is full or failing: an I/O error (exit 74 in the CLI), not a usage error.
IO_ERRNOS = {errno.ENOSPC, errno.EDQUOT, errno.EIO, errno.EFBIG}
WINDOW = 1 << 16  # bytes read at a time when looking backwards for a newline


class LogError(EngineError, OSError):
    """The decision log cannot be used or written; its one diagnostic says which file and why. An
    `OSError` too, as the writer raised one before these errors had codes (`errno` is the cause's)."""

    def __str__(self) -> str:
        return "\n".join(d.one_line() for d in self.diagnostics)


class LogFileError(LogError):
    """The log's path is not a regular file nor a new path in a folder that exists (a device, a FIFO, a
    folder, a symbolic link), or it cannot be opened: nothing was read or written."""

    code = "log_file"


class LogWriteError(LogError):
    """Appending to the log failed (a full disk, an I/O error). The file was cut back to the length it
    had before the append, so that no part of it stays, unless `cut_back` is False (the message says so)."""

    code = "log_write"
    cut_back = True


def failure(kind: type[LogError], code: str, path: Path, message: str, cause: OSError | None = None,
            help: str = "") -> LogError:
    error = kind([Diagnostic(code, message, SourceLocation(str(path)), help=help)])
    if cause is not None:
        error.errno, error.strerror, error.filename = cause.errno, cause.strerror, str(path)
    return error


def _what(mode: int) -> str:
    kinds = ((stat.S_ISLNK, "a symbolic link"), (stat.S_ISDIR, "a folder"), (stat.S_ISCHR, "a character device"),
             (stat.S_ISBLK, "a block device"), (stat.S_ISFIFO, "a FIFO (named pipe)"), (stat.S_ISSOCK, "a socket"))
    return next((name for test, name in kinds if test(mode)), "not a regular file")


def not_regular(path: Path, mode: int) -> LogFileError:
    if stat.S_ISLNK(mode):
        return failure(LogFileError, "log_symlink", path, "the decision log is a symbolic link, which is not followed",
                       help="name the file it points to")
    return failure(LogFileError, "log_not_regular", path, f"the decision log is {_what(mode)}, not a regular file",
                   help="a decision log is a regular file, or a new path in a folder")


def check_path(path: Path) -> None:
    """Raise `LogFileError` unless `path` names a regular file (not through a symbolic link) or nothing
    yet, in a folder that exists: what a writer may open. Checked without opening anything, since
    opening a device can act on it; the writer checks again what it opened."""
    path = Path(path)
    try:
        mode = os.lstat(path).st_mode
    except FileNotFoundError:
        if not path.parent.is_dir():
            raise failure(LogFileError, "log_unopenable", path,
                          f"cannot create the decision log: the folder `{path.parent}` does not exist") from None
        return
    except OSError as exc:
        raise failure(LogFileError, "log_unopenable", path, f"cannot open the decision log: {exc.strerror}", exc) from None
    if not stat.S_ISREG(mode):
        raise not_regular(path, mode)


def open_to_append(path: Path, create: bool = True) -> tuple[int, bool]:
    """A descriptor of the log open to read and append, and whether this call created the file.

    INVARIANT: what is returned is a regular file reached without a symbolic link (`O_NOFOLLOW`, then
    `fstat`); `O_NONBLOCK` keeps a FIFO swapped in after `check_path` from blocking the open."""
    check_path(path)
    flags = os.O_RDWR | os.O_APPEND | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC
    try:
        fd, created = _open(path, flags, create)
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise not_regular(path, stat.S_IFLNK) from None
        if exc.errno in IO_ERRNOS:
            raise failure(LogWriteError, "log_write_failed", path, f"cannot create the decision log: {exc.strerror}",
                          exc) from None
        raise failure(LogFileError, "log_unopenable", path, f"cannot open the decision log: {exc.strerror}", exc) from None
    mode = os.fstat(fd).st_mode
    if not stat.S_ISREG(mode):
        os.close(fd)
        raise not_regular(path, mode)
    os.set_blocking(fd, True)
    return fd, created


def _open(path: Path, flags: int, create: bool) -> tuple[int, bool]:
    if create:
        try:  # O_EXCL: whether this call made the file, whose folder must then be fsynced, is known for sure
            return os.open(path, flags | os.O_CREAT | os.O_EXCL, 0o666), True
        except FileExistsError:
            pass
    return os.open(path, flags), False


def open_to_read(path: Path) -> int:
    """A descriptor of the log open to read: a regular file (a symbolic link is followed to one: reading
    appends nothing to where it points), never a device or a FIFO, whose reading would not end."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    except OSError as exc:
        raise failure(LogFileError, "log_unopenable", path, f"cannot read the decision log: {exc.strerror}", exc) from None
    mode = os.fstat(fd).st_mode
    if not stat.S_ISREG(mode):
        os.close(fd)
        raise not_regular(path, mode)
    return fd


def fsync_directory(path: Path) -> None:
    directory = os.open(path.parent if str(path.parent) else ".", os.O_RDONLY)
    try:
        os.fsync(directory)
    finally:
        os.close(directory)


def append_bytes(fd: int, size: int, data: bytes, path: Path, what: str) -> None:
    """Write `data` at the end of the log (the lock held, the file `size` bytes long) and fsync it.

    When the write or the fsync fails, the file is cut back to `size` bytes, so that no part of `data`
    stays (a torn record would make the log fail to verify, and its number be taken again), and
    `LogWriteError` says what happened; an interrupt is re-raised after the same cut."""
    try:
        view, written = memoryview(data), 0
        while written < len(data):  # one write; a short one (the disk filling up) is carried on, to finish or fail
            count = os.write(fd, view[written:])
            if not count:
                raise OSError(errno.EIO, "the write made no progress")
            written += count
        os.fsync(fd)
    except BaseException as cause:
        problem = _cut_back(fd, size)
        if not isinstance(cause, OSError):
            raise
        reason = cause.strerror or str(cause)
        if problem is None:
            raise failure(LogWriteError, "log_write_failed", path,
                          f"cannot append {what} to the decision log: {reason}; the log was cut back to its "
                          f"{size} bytes, as before", cause,
                          help="it verifies as it did, and the next append continues its chain") from None
        error = failure(LogWriteError, "log_write_failed", path,
                        f"cannot append {what} to the decision log: {reason}, and cannot cut it back to its {size} "
                        f"bytes: {problem.strerror}", cause, help="it may end in a torn tail: `verdict log repair` cuts it")
        error.cut_back = False
        raise error from None


def _cut_back(fd: int, size: int) -> OSError | None:
    """Cut the file back to `size` bytes and fsync that; the error, if it could not be done."""
    try:
        os.ftruncate(fd, size)
        os.fsync(fd)
    except OSError as problem:
        return problem
    return None


def pread(fd: int, start: int, end: int) -> bytes:
    """The bytes from `start` to `end` (fewer if the file ends before)."""
    chunks = []
    while start < end:
        chunk = os.pread(fd, end - start, start)
        if not chunk:
            break
        chunks.append(chunk)
        start += len(chunk)
    return b"".join(chunks)


def line_start(fd: int, end: int, window: int = WINDOW) -> int:
    """Where the line ending at byte `end` begins: just after the newline before `end`, or 0."""
    position = end
    while position > 0:  # backwards, `window` bytes at a time
        start = max(0, position - window)
        found = pread(fd, start, position).rfind(b"\n")
        if found >= 0:
            return start + found + 1
        position = start
    return 0


def settled_size(fd: int) -> int:
    """The file's size between two writers' groups: taken under a shared lock, which waits for a group
    being written, so that a read up to it ends at a group's end, not halfway through one."""
    fcntl.flock(fd, fcntl.LOCK_SH)
    try:
        return os.fstat(fd).st_size
    finally:
        fcntl.flock(fd, fcntl.LOCK_UN)


def lines(fd: int, size: int) -> Iterator[tuple[int, bytes]]:
    """Each line of the first `size` bytes, numbered from 1, with its newline (the last may have none)."""
    offset = 0
    with open(fd, "rb", closefd=False) as reader:
        for number, raw in enumerate(reader, start=1):
            raw = raw[:size - offset]
            if not raw:
                return
            offset += len(raw)
            yield number, raw
