"""sklenet._io: atomic writes keep old files whole and their permissions, never
clobber a device, a link or a read-only file; bounded readers refuse what is not
a small regular file."""

import errno
import os
import re
import signal
import stat
import subprocess
import sys
import threading
import time

import pytest

from sklenet._io import (
    InUseError,
    InvalidFileError,
    atomic_open,
    atomic_write,
    exclusive_lock,
    open_regular_file,
    read_json,
    remove_unfinished_writes,
)

from .helpers import run_bounded


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


@pytest.mark.parametrize("permissions", [0o600, 0o640, 0o755, 0o200])
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


# ---------------------------------------------------------- what is replaced
def test_character_device_is_written_in_place():
    """Before, atomic_write("/dev/null") replaced the device by a regular file
    (as root); now it writes to the device."""
    atomic_write(os.devnull, b"discarded")
    assert stat.S_ISCHR(os.stat(os.devnull).st_mode)


def test_fifo_is_written_in_place(tmp_path):
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    received = []
    reader = threading.Thread(target=lambda: received.append(fifo.read_bytes()))
    reader.start()
    atomic_write(fifo, b"through the pipe")
    reader.join(timeout=30)
    assert received == [b"through the pipe"]
    assert stat.S_ISFIFO(os.stat(fifo).st_mode)
    assert sorted(os.listdir(tmp_path)) == ["pipe"]


@pytest.mark.parametrize("dangling", [False, True])
def test_symlink_target_is_replaced_and_link_kept(tmp_path, dangling):
    (tmp_path / "real").mkdir()
    target = tmp_path / "real" / "target"
    if not dangling:
        target.write_bytes(b"old")
        os.chmod(target, 0o640)
    link = tmp_path / "link"
    link.symlink_to(target)
    atomic_write(link, b"new")
    assert link.is_symlink() and target.read_bytes() == b"new"
    if not dangling:
        assert _mode(target) == 0o640
    assert os.listdir(tmp_path / "real") == ["target"]


def test_read_only_file_is_refused_and_kept(tmp_path):
    path = tmp_path / "locked"
    path.write_bytes(b"old")
    os.chmod(path, 0o444)
    with pytest.raises(PermissionError, match=re.escape(repr(str(path)))):
        atomic_write(path, b"new")
    assert path.read_bytes() == b"old" and _mode(path) == 0o444
    assert os.listdir(tmp_path) == ["locked"]


def test_folder_is_refused(tmp_path):
    with pytest.raises(IsADirectoryError, match=re.escape(repr(str(tmp_path)))):
        atomic_write(tmp_path, b"x")


@pytest.mark.parametrize("where", ["missing/out", "file/sub"])
def test_errors_name_the_users_path_not_the_temporary_file(tmp_path, where):
    (tmp_path / "file").write_bytes(b"a regular file")
    path = tmp_path / where
    with pytest.raises(OSError) as info:
        atomic_write(path, b"x")
    assert info.value.filename == str(path)
    assert ".tmp" not in str(info.value)


def test_failing_replace_names_the_users_path(tmp_path, monkeypatch):
    path = tmp_path / "out"

    def fail(src, dst):
        raise OSError(28, "No space left on device", src, dst)

    monkeypatch.setattr(os, "replace", fail)
    with pytest.raises(OSError, match=re.escape(f"device: {str(path)!r}") + "$"):
        atomic_write(path, b"x")
    monkeypatch.undo()
    assert os.listdir(tmp_path) == []


@pytest.mark.skipif(not os.path.exists("/dev/full"), reason="needs /dev/full")
def test_a_full_disk_names_the_users_path():
    # /dev/full answers every write with ENOSPC, which names no file.
    with pytest.raises(OSError) as info:
        atomic_write("/dev/full", b"x" * 100_000)
    assert info.value.errno == errno.ENOSPC
    assert info.value.filename == "/dev/full"


# ------------------------------------------------------------ bounded reading
def test_read_json(tmp_path):
    path = tmp_path / "params.json"
    path.write_text('{"epochs": 2, "é": [1.5]}', encoding="utf-8")
    assert read_json(path, max_bytes=100, what="--params file") == {
        "epochs": 2, "é": [1.5]}


@pytest.mark.parametrize("content, match", [
    (b'{"accuracy": 0.9', "is not valid JSON: Expecting"),
    (b"", "is not valid JSON"),
    (b"\xff\xfe{}", "is not valid JSON: 'utf-8' codec"),
    (b"[" * 100_000, "is not valid JSON"),
])
def test_read_json_refuses_broken_content(tmp_path, content, match):
    path = tmp_path / "entry.json"
    path.write_bytes(content)
    with pytest.raises(InvalidFileError, match=match) as info:
        read_json(path, max_bytes=1 << 20, what="cache entry")
    message = str(info.value)
    assert message.startswith(f"cache entry {str(path)!r}")
    assert len(message) < 200 + len(str(path))
    assert info.value.path == path


def test_read_json_refuses_oversize_file_before_reading(tmp_path):
    path = tmp_path / "huge.json"
    with open(path, "wb") as f:
        f.truncate(5 << 30)  # sparse: 5 GB on paper, nothing on disk
    with pytest.raises(InvalidFileError, match="5,368,709,120 bytes, more than "
                       "the 1,000 sklenet reads"):
        read_json(path, max_bytes=1000, what="--params file")


def test_read_json_missing_file_is_file_not_found(tmp_path):
    with pytest.raises(FileNotFoundError):
        read_json(tmp_path / "absent.json", max_bytes=10, what="cache entry")


@pytest.mark.parametrize("kind", ["folder", "fifo", "device"])
def test_open_regular_file_refuses_other_kinds_without_blocking(tmp_path, kind):
    path = {"folder": tmp_path, "device": "/dev/zero"}.get(kind, tmp_path / "p")
    if kind == "fifo":
        os.mkfifo(path)  # opening it for reading would wait for a writer
    with pytest.raises(InvalidFileError, match="not a regular file"):
        open_regular_file(path, what="input")


def test_dev_zero_as_json_is_refused_in_little_memory_and_time():
    """/dev/zero passed as a JSON file: refused in seconds and a few MB."""
    run_bounded("from sklenet._io import read_json\n"
                "read_json('/dev/zero', max_bytes=1 << 20, what='--params file')",
                expect="is a character device, not a regular file")


# --------------------------------------------- what a killed process leaves
def _started(code, ready):
    """A Python process running ``code``, once it has created ``ready``."""
    process = subprocess.Popen([sys.executable, "-c", code])
    deadline = time.monotonic() + 60
    while not os.path.exists(ready) and process.poll() is None:
        if time.monotonic() > deadline:
            break
        time.sleep(0.05)
    if not os.path.exists(ready):
        process.kill()
        process.wait()
        pytest.fail("the process did not get ready")
    return process


def test_a_write_killed_midway_leaves_a_temporary_file_that_is_removed(tmp_path):
    (tmp_path / "sub").mkdir()
    kept = [tmp_path / "result.json", tmp_path / ".hidden.tmp",
            tmp_path / "sub" / ".notes.json.1234.tmp"]
    for path in kept:
        path.write_text("mine")
    writer = _started(
        "import pathlib, time\n"
        "from sklenet._io import atomic_open\n"
        f"with atomic_open({str(tmp_path / 'sub' / 'result.json')!r}) as f:\n"
        "    f.write(b'half'); f.flush()\n"
        f"    pathlib.Path({str(tmp_path / 'ready')!r}).touch()\n"
        "    time.sleep(600)\n", tmp_path / "ready")
    writer.send_signal(signal.SIGKILL)
    writer.wait()
    left = [p for p in (tmp_path / "sub").iterdir() if p.name.startswith(".result")]
    assert len(left) == 1 and left[0].read_bytes() == b"half"

    assert remove_unfinished_writes(tmp_path, recursive=False) == []
    assert remove_unfinished_writes(tmp_path) == [str(left[0])]
    assert sorted(tmp_path.rglob("*")) == sorted(
        [*kept, tmp_path / "sub", tmp_path / "ready"])


def test_a_lock_held_by_another_process_is_refused_until_it_is_killed(tmp_path):
    lock = tmp_path / "run.lock"
    holder = _started(
        "import pathlib, time\n"
        "from sklenet._io import exclusive_lock\n"
        f"with exclusive_lock({str(lock)!r}, what='x'):\n"
        f"    pathlib.Path({str(tmp_path / 'ready')!r}).touch()\n"
        "    time.sleep(600)\n", tmp_path / "ready")
    try:
        with pytest.raises(InUseError, match=re.escape(
                f"the folder is in use by another process (process {holder.pid})")):
            with exclusive_lock(lock, what="the folder"):
                pytest.fail("the lock was held twice")
    finally:
        holder.send_signal(signal.SIGKILL)
        holder.wait()
    with exclusive_lock(lock, what="the folder"):  # a killed holder holds nothing
        assert lock.read_text() == f"{os.getpid()}\n"
