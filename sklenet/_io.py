"""Atomic file writing: one helper for the command line, the report and archives."""

import contextlib
import os
import stat
import uuid


@contextlib.contextmanager
def atomic_open(path, mode="wb", **kwargs):
    """Open a file that replaces ``path`` only once the block completes.

    The block writes to a temporary file in ``path``'s folder. When it ends
    without an error the file is flushed to disk and renamed over ``path``,
    and the folder is flushed so that the rename survives a crash; when it
    raises (``KeyboardInterrupt`` included) the temporary file is removed and
    ``path`` is left as it was. Readers see the old file or the new one, never
    a mix.

    An existing ``path`` keeps its permission bits (not its owner); a new file
    gets the usual ones, ``0o666`` less the umask, as with :func:`open`.

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
        The temporary file, open for writing.

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
    """
    if mode not in ("wb", "w"):
        raise ValueError(f"atomic_open writes whole files: mode={mode!r} must be "
                         "'wb' or 'w'.")
    path = os.fspath(path)
    directory, name = os.path.split(os.path.abspath(path))
    try:
        permissions = stat.S_IMODE(os.stat(path).st_mode)
    except FileNotFoundError:
        permissions = None
    tmp_path = os.path.join(directory, f".{name}.{uuid.uuid4().hex}.tmp")
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0)
    # A new file: 0o666 lets the umask decide, as open() does. A replacement:
    # owner-only until chmod gives it the old file's bits, so new contents of
    # a private file are never readable by others, not even while written.
    fd = os.open(tmp_path, flags, 0o666 if permissions is None else 0o600)
    try:
        if permissions is not None:
            os.chmod(tmp_path, permissions)
        with os.fdopen(fd, mode, **kwargs) as f:
            fd = None  # the file object owns it now
            yield f
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp_path, path)
    except BaseException:
        if fd is not None:
            os.close(fd)
        with contextlib.suppress(OSError):
            os.unlink(tmp_path)
        raise
    _fsync_directory(directory)


def atomic_write(path, data):
    """Write ``data`` (str or bytes) to ``path`` all at once or not at all.

    A str is encoded as UTF-8. See :func:`atomic_open`, which it uses: an
    interruption leaves ``path`` as it was, and an existing file keeps its
    permissions.

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
    with atomic_open(path, "wb") as f:
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
