"""Atomic file writing for the command line and the report."""

import contextlib
import os
import tempfile


def atomic_write(path, data):
    """Write ``data`` (str or bytes) to ``path`` all at once or not at all.

    The data goes to a temporary file in the same folder, is flushed to disk
    and renamed over ``path``; an interruption leaves ``path`` as it was.

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
    path = os.fspath(path)
    directory, name = os.path.split(os.path.abspath(path))
    fd, tmp_path = tempfile.mkstemp(prefix=f".{name}.", suffix=".tmp", dir=directory)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp_path, 0o644)
        os.replace(tmp_path, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp_path)
        raise
