"""Bounded reading and safe writing of files: one place for every module.

Writing: :func:`atomic_open` and :func:`atomic_write` replace a regular file
all at once or not at all, for the command line, the report and archives.
Reading: :func:`open_regular_file` and :func:`read_json` refuse what is not a
regular file, or is larger than the caller's limit, before reading it, so
that ``/dev/zero``, a FIFO or a gigabyte "parameters file" ends in a one-line
error instead of filling the memory. Processes: :func:`exclusive_lock` holds
a file for one process, :func:`exit_with_parent` ends a worker process with
the process that started it; both hold when that process is killed. This
module imports only the standard library, so that a worker process runs
:func:`exit_with_parent` before it imports anything heavy.
"""

import contextlib
import errno
import json
import os
import re
import signal
import stat
import sys
import threading
import time
import uuid

__all__ = [
    "SMALL_JSON_BYTES",
    "InUseError",
    "InvalidFileError",
    "atomic_open",
    "atomic_write",
    "exclusive_lock",
    "exit_with_parent",
    "open_regular_file",
    "read_json",
    "remove_unfinished_writes",
    "shorten",
]

# The JSON files sklenet reads back (--params files, cache entries,
# run.json) take kilobytes; a megabyte is far more than any holds.
SMALL_JSON_BYTES = 1 << 20
# Error messages quote at most this many characters of a file's content: a
# "value" can be a megabyte of NUL bytes.
_QUOTE_CHARS = 40


class InvalidFileError(ValueError):
    """A file that sklenet refuses to read: not a regular file, too large,
    unreadable or not what it should hold.

    Its message names the user's path and quotes at most a few dozen
    characters of the content. The ``path`` attribute holds the path. A
    subclass of ``ValueError``; a file that does not exist raises
    :class:`FileNotFoundError` instead.
    """

    def __init__(self, message, path=None):
        super().__init__(message)
        self.path = path


def shorten(value, limit=_QUOTE_CHARS):
    """``repr(value)``, cut to about ``limit`` characters for an error message.

    Examples
    --------
    >>> shorten("pixel0")
    "'pixel0'"
    >>> shorten("0" * 1000)
    "'000000000000000000000000000000000000000... (1,000 characters)"
    """
    text = repr(value)
    if len(text) <= limit:
        return text
    size = f" ({len(value):,} characters)" if isinstance(value, str | bytes) else ""
    return text[:limit] + "..." + size


def open_regular_file(path, *, what, max_bytes=None):
    """Open ``path`` for binary reading if it is a regular file of bounded size.

    The file is opened without blocking (a FIFO would wait for a writer) and
    checked through its descriptor, so the file checked is the file read.

    Parameters
    ----------
    path : str or path-like
        The file to read.
    what : str
        How error messages name the file, e.g. ``"--params file"``.
    max_bytes : int, optional
        The largest size accepted; no limit if None.

    Returns
    -------
    file : binary file object, open for reading
        ``os.fstat(file.fileno()).st_size`` gives its size.

    Raises
    ------
    FileNotFoundError
        If ``path`` does not exist.
    InvalidFileError
        If ``path`` is a folder, a device, a FIFO or a socket, is larger than
        ``max_bytes`` or cannot be opened (permissions, I/O error).

    Examples
    --------
    >>> open_regular_file("/dev/zero", what="archive")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    sklenet._io.InvalidFileError: archive '/dev/zero' is a character device, ...
    """
    shown = repr(os.fspath(path))
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0)
                     | getattr(os, "O_BINARY", 0))
    except FileNotFoundError:
        raise
    except OSError as exc:  # a folder where it cannot be opened, permissions
        raise InvalidFileError(f"{what} {shown} cannot be opened: "
                               f"{exc.strerror or exc}.", path) from None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise InvalidFileError(
                f"{what} {shown} is {_file_kind(info.st_mode)}, not a regular file.",
                path)
        if max_bytes is not None and info.st_size > max_bytes:
            raise InvalidFileError(
                f"{what} {shown} has {info.st_size:,} bytes, more than the "
                f"{max_bytes:,} sklenet reads.", path)
        if hasattr(os, "set_blocking"):
            os.set_blocking(fd, True)
        return os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise


def _file_kind(mode):
    kinds = [(stat.S_ISDIR, "a folder"), (stat.S_ISCHR, "a character device"),
             (stat.S_ISBLK, "a block device"), (stat.S_ISFIFO, "a FIFO (named pipe)"),
             (stat.S_ISSOCK, "a socket")]
    return next((name for test, name in kinds if test(mode)), "not a regular file")


def read_json(path, *, what, max_bytes=SMALL_JSON_BYTES):
    """The JSON document in ``path``, read only if it is a small regular file.

    For the small JSON files sklenet reads back (cache entries, ``run.json``,
    ``--params`` files). Nothing is read from a file that is not a regular
    file or is larger than ``max_bytes``, and at most ``max_bytes + 1`` bytes
    are read even if the file grows meanwhile.

    Parameters
    ----------
    path : str or path-like
        The file.
    what : str
        How error messages name the file, e.g. ``"cache entry"``.
    max_bytes : int, default=SMALL_JSON_BYTES
        The largest size accepted, in bytes (1 MiB by default).

    Returns
    -------
    object
        The decoded JSON value (UTF-8).

    Raises
    ------
    FileNotFoundError
        If ``path`` does not exist.
    InvalidFileError
        If ``path`` is not a regular file, is larger than ``max_bytes``,
        cannot be read or does not hold UTF-8 JSON (a truncated file, say).
        The message names ``path`` and quotes no more than a few dozen
        characters of it.

    Examples
    --------
    >>> import os, tempfile
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     path = os.path.join(tmp, "run.json")
    ...     atomic_write(path, '{"epochs": 3}')
    ...     read_json(path, max_bytes=1000, what="run description")
    {'epochs': 3}
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     path = os.path.join(tmp, "step.json")
    ...     atomic_write(path, '{"accuracy": 0.9')
    ...     read_json(path, max_bytes=1000, what="cache entry")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    sklenet._io.InvalidFileError: cache entry '...step.json' is not valid JSON: ...
    """
    shown = repr(os.fspath(path))
    with open_regular_file(path, what=what, max_bytes=max_bytes) as f:
        try:
            data = f.read(max_bytes + 1)
        except OSError as exc:
            raise InvalidFileError(f"{what} {shown} cannot be read: "
                                   f"{exc.strerror or exc}.", path) from None
    if len(data) > max_bytes:
        raise InvalidFileError(f"{what} {shown} has more than the {max_bytes:,} "
                               "bytes sklenet reads.", path)
    try:
        return json.loads(data.decode("utf-8"))
    except (ValueError, RecursionError) as exc:  # UnicodeDecodeError included
        # A JSONDecodeError's message is short (a position), a Unicode one
        # quotes bytes: cut it either way.
        reason = str(exc)
        if len(reason) > 2 * _QUOTE_CHARS:
            reason = reason[:2 * _QUOTE_CHARS] + "..."
        raise InvalidFileError(f"{what} {shown} is not valid JSON: {reason}.",
                               path) from None


@contextlib.contextmanager
def atomic_open(path, mode="wb", **kwargs):
    """Open a file that replaces ``path`` only once the block completes.

    What ``path`` is decides how it is written:

    * a regular file, or nothing yet: the block writes to a temporary file in
      ``path``'s folder. When it ends without an error the file is flushed to
      disk and renamed over ``path``, and the folder is flushed so that the
      rename survives a crash; when it raises (``KeyboardInterrupt``
      included) the temporary file is removed and ``path`` is left as it was.
      Readers see the old file or the new one, never a mix;
    * a symbolic link: its target is replaced as above (the link stays);
    * a character device or a FIFO (``/dev/null``, ``/dev/stdout``, a named
      pipe): written in place, since renaming a file over it would replace
      the device itself; what was written before an error stays written;
    * a file without write permission (mode 444, say) or a folder: refused
      with a :class:`PermissionError` or :class:`IsADirectoryError` before
      anything is written, even where the owner (or root) could replace it.

    An existing file keeps its permission bits (not its owner); a new file
    gets the usual ones, ``0o666`` less the umask, as with :func:`open`.
    Errors (a missing folder, a full disk) name ``path``, never the
    temporary file.

    Parameters
    ----------
    path : str or path-like
        The file to write.
    mode : {"wb", "w"}, default="wb"
        Binary or text.
    **kwargs
        Passed to :func:`open` (``encoding``, ``newline``, ...).

    Yields
    ------
    file object
        The temporary file (or the device), open for writing.

    Examples
    --------
    >>> import os, tempfile
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     path = os.path.join(tmp, "data.bin")
    ...     with atomic_open(path) as f:
    ...         _ = f.write(b"complete")
    ...     try:
    ...         with atomic_open(path) as f:
    ...             _ = f.write(b"half")
    ...             raise RuntimeError("interrupted")
    ...     except RuntimeError:
    ...         pass
    ...     open(path, "rb").read(), os.listdir(tmp)
    (b'complete', ['data.bin'])
    >>> with atomic_open(os.devnull) as f:  # written in place, still a device
    ...     _ = f.write(b"discarded")
    """
    if mode not in ("wb", "w"):
        raise ValueError(f"atomic_open writes whole files: mode={mode!r} must be "
                         "'wb' or 'w'.")
    path = os.fspath(path)
    try:
        info = os.stat(path)  # follows a symbolic link
    except FileNotFoundError:
        info = None
    if info is not None and stat.S_ISDIR(info.st_mode):
        raise IsADirectoryError(errno.EISDIR, "Is a folder, not a file", path)
    if info is not None and not stat.S_ISREG(info.st_mode):
        # A device or a FIFO: open() follows /dev/stdout's /proc link itself.
        with open(path, mode, **kwargs) as f:
            yield f
        return
    if info is not None and not _writable(path, info):
        raise PermissionError(errno.EACCES, "Read-only file, not replaced", path)
    # Replace what a link points to, in the target's folder (same file system).
    target = os.path.realpath(path) if os.path.islink(path) else path
    directory, name = os.path.split(os.path.abspath(target))
    permissions = None if info is None else stat.S_IMODE(info.st_mode)
    tmp_path = os.path.join(directory, f".{name}.{uuid.uuid4().hex}.tmp")
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0)
    fd = None
    try:
        # A new file: 0o666 lets the umask decide, as open() does. A
        # replacement: owner-only until chmod gives it the old file's bits,
        # so new contents of a private file are never readable by others.
        with _naming(path, tmp_path):
            fd = os.open(tmp_path, flags, 0o666 if permissions is None else 0o600)
            if permissions is not None:
                os.chmod(tmp_path, permissions)
            f = os.fdopen(fd, mode, **kwargs)
            fd = None  # the file object owns it now
        with f:
            yield f
            with _naming(path, tmp_path):
                f.flush()
                os.fsync(f.fileno())
        with _naming(path, tmp_path):
            os.replace(tmp_path, target)
    except BaseException:
        if fd is not None:
            os.close(fd)
        with contextlib.suppress(OSError):
            os.unlink(tmp_path)
        raise
    _fsync_directory(directory)


# The temporary file of atomic_open: ".{name}.{32 hex digits}.tmp".
_TEMPORARY_NAME = re.compile(r"^\..+\.[0-9a-f]{32}\.tmp$")


def remove_unfinished_writes(folder, *, recursive=True):
    """Delete the temporary files that :func:`atomic_open` left in ``folder``
    (and below it, if ``recursive``) when its process was killed mid-write
    (SIGKILL, a crash: nothing ran to remove them); return their paths.

    Only for a folder that no other process is writing to (hold
    :func:`exclusive_lock` first): another writer's file in progress looks
    the same.
    """
    removed = []
    for directory, folders, names in os.walk(folder):
        if not recursive:
            folders.clear()
        for name in names:
            if _TEMPORARY_NAME.match(name):
                path = os.path.join(directory, name)
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(path)
                    removed.append(path)
    return removed


class InUseError(ValueError):
    """What :func:`exclusive_lock` raises when another process holds the
    lock."""


@contextlib.contextmanager
def exclusive_lock(path, *, what):
    """Hold an exclusive lock on the file ``path`` (created if missing) for
    the block, or raise :class:`InUseError` at once, naming ``what`` and the
    process that holds it.

    The lock is the operating system's (``flock``): it ends with the process
    that holds it, killed or not, so it is never left stale. Where there is
    no ``fcntl`` (Windows) the block runs unguarded.

    Examples
    --------
    >>> import os, tempfile
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     path = os.path.join(tmp, "lock")
    ...     with exclusive_lock(path, what="the folder"):
    ...         try:
    ...             with exclusive_lock(path, what="the folder"):
    ...                 pass
    ...         except InUseError as exc:
    ...             print(str(exc).split(" (")[0])
    the folder is in use by another process
    """
    try:
        import fcntl
    except ImportError:  # pragma: no cover - Windows
        yield
        return
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o666)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.read(fd, 32).decode("ascii", "replace").strip()
            raise InUseError(f"{what} is in use by another process (process "
                             f"{holder or 'unknown'})") from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode("ascii"), 0)
        yield
    finally:
        os.close(fd)


#: prctl's option that has the kernel signal a process when its parent ends.
_PR_SET_PDEATHSIG = 1
#: How often the fallback thread of exit_with_parent looks for its parent.
_PARENT_POLL_S = 1.0


def exit_with_parent(parent_pid):
    """End this process as soon as the process ``parent_pid``, which started
    it, ends, whatever ends it.

    For worker processes (a loky initializer, ``initargs=(os.getpid(),)``):
    a SIGKILL of their parent cannot be caught, so the parent cannot stop
    them, and a worker waiting for its next task would wait forever (each
    holds the write end of its own task queue, so no end of file comes).
    On Linux the kernel kills this process when its parent ends
    (``prctl(PR_SET_PDEATHSIG, SIGKILL)``); elsewhere a daemon thread checks
    the parent once a second. A parent that has ended already, before this
    ran, ends this process at once.

    Parameters
    ----------
    parent_pid : int
        The process ID of the parent, as the parent saw it (``os.getpid()``
        there).
    """
    if sys.platform.startswith("linux"):
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        bound = libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0) == 0
    else:
        bound = False
    # The parent may have ended before the signal was set: this process then
    # belongs to another one already.
    if os.getppid() != parent_pid:
        os._exit(1)
    if not bound:
        threading.Thread(target=_exit_when_orphaned, args=(parent_pid,),
                         daemon=True, name="exit_with_parent").start()


def _exit_when_orphaned(parent_pid):
    while os.getppid() == parent_pid:
        time.sleep(_PARENT_POLL_S)
    os._exit(1)


def _writable(path, info):
    """Whether ``path`` may be replaced: writable by us and not read-only.

    ``os.access`` alone says yes to root for a mode 444 file; a file nobody
    may write is refused for everyone, as ``cp`` without ``-f`` would.
    """
    any_write = stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH
    return os.access(path, os.W_OK) and bool(info.st_mode & any_write)


@contextlib.contextmanager
def _naming(path, tmp_path=None):
    """Make an OSError about the temporary file, or about no file (a write
    on a full disk), name the user's ``path``."""
    try:
        yield
    except OSError as exc:
        if exc.errno is None or exc.filename not in (None, tmp_path):
            raise
        # OSError() picks the subclass (FileNotFoundError, ...) from errno.
        raise OSError(exc.errno, exc.strerror, path) from None


def atomic_write(path, data):
    """Write ``data`` (str or bytes) to ``path`` all at once or not at all.

    A str is encoded as UTF-8. See :func:`atomic_open`, which it uses and
    whose rules apply: an interruption leaves a regular file as it was, an
    existing file keeps its permissions, a device or FIFO is written in
    place, a symbolic link's target is replaced and a read-only file is
    refused.

    Examples
    --------
    >>> import os, tempfile
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     path = os.path.join(tmp, "note.txt")
    ...     atomic_write(path, "done\\n")
    ...     open(path).read(), os.listdir(tmp)
    ('done\\n', ['note.txt'])
    """
    if isinstance(data, str):
        data = data.encode("utf-8")
    with atomic_open(path, "wb") as f, _naming(path):
        f.write(data)


def _fsync_directory(directory):
    """Make a rename in ``directory`` durable (POSIX); best effort elsewhere."""
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
