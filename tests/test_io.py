"""sklenet._io: atomic writes keep old files whole and their permissions."""

import os
import re
import stat

import pytest

from sklenet._io import atomic_open, atomic_write


def _mode(path):
    return stat.S_IMODE(os.stat(path).st_mode)


@pytest.fixture
def umask():
    """Set a umask for one test and restore the process's afterwards."""
    previous = os.umask(0o022)
    yield os.umask
    os.umask(previous)


@pytest.mark.parametrize("data, expected", [("é\n", "é\n".encode()),
                                            (b"\x00\xff", b"\x00\xff")])
def test_atomic_write_writes_all(tmp_path, data, expected):
    path = tmp_path / "out"
    atomic_write(path, data)
    assert path.read_bytes() == expected
    assert os.listdir(tmp_path) == ["out"]


def test_text_mode(tmp_path):
    path = tmp_path / "out.txt"
    with atomic_open(path, "w", encoding="utf-8", newline="\r\n") as f:
        f.write("a\nb\n")
    assert path.read_bytes() == b"a\r\nb\r\n"


@pytest.mark.parametrize("mask, expected", [(0o022, 0o644), (0o077, 0o600),
                                            (0o002, 0o664)])
def test_new_file_honours_umask(tmp_path, umask, mask, expected):
    umask(mask)
    atomic_write(tmp_path / "new", b"x")
    assert _mode(tmp_path / "new") == expected


@pytest.mark.parametrize("permissions", [0o600, 0o640, 0o755, 0o444])
def test_existing_file_keeps_its_permissions(tmp_path, umask, permissions):
    umask(0o022)
    path = tmp_path / "existing"
    path.write_bytes(b"old")
    os.chmod(path, permissions)
    atomic_write(path, b"new")
    assert path.read_bytes() == b"new"
    assert _mode(path) == permissions


@pytest.mark.parametrize("error", [RuntimeError, KeyboardInterrupt])
@pytest.mark.parametrize("existing", [False, True])
def test_error_mid_write_leaves_nothing_half_written(tmp_path, error, existing):
    path = tmp_path / "file"
    if existing:
        path.write_bytes(b"old contents")
    with pytest.raises(error):
        with atomic_open(path) as f:
            f.write(b"new, but only the first half")
            f.flush()
            raise error("interrupted")
    if existing:
        assert path.read_bytes() == b"old contents"
        assert os.listdir(tmp_path) == ["file"]
    else:
        assert os.listdir(tmp_path) == []


@pytest.mark.parametrize("failing", ["fsync", "replace", "chmod", "fdopen"])
def test_failing_system_call_leaves_old_file(tmp_path, monkeypatch, failing):
    path = tmp_path / "file"
    path.write_bytes(b"old")

    def fail(*args, **kwargs):
        raise OSError(f"{failing} failed")

    monkeypatch.setattr(os, failing, fail)
    with pytest.raises(OSError, match=f"{failing} failed"):
        atomic_write(path, b"new")
    monkeypatch.undo()
    assert path.read_bytes() == b"old"
    assert os.listdir(tmp_path) == ["file"]


def test_refuses_partial_modes(tmp_path):
    for mode in ("ab", "r+b", "xb"):
        with pytest.raises(ValueError, match=re.escape(f"mode='{mode}' must be")):
            with atomic_open(tmp_path / "f", mode):
                pass
    assert os.listdir(tmp_path) == []
