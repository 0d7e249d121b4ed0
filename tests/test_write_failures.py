"""A full disk or a folder that cannot be written: one line naming the file
and the fix, exit status 2, no half-written file, no crash at exit."""

import errno
import os
import subprocess
import sys
from pathlib import Path

import pytest

from soundnet_keras.console import describe_error, run_command
from soundnet_keras.stores import atomic_file, check_space, write_text

ROOT = Path(__file__).resolve().parent.parent


def test_a_failed_write_leaves_neither_file_nor_debris(tmp_path):
    (tmp_path / "a.json").write_text("old")
    with pytest.raises(ValueError):
        with atomic_file(tmp_path / "a.json") as tmp:
            tmp.write_text("half")
            raise ValueError("the writer failed")
    assert [p.name for p in tmp_path.iterdir()] == ["a.json"]
    assert (tmp_path / "a.json").read_text() == "old"


def test_files_get_the_permissions_of_a_plain_open(tmp_path):
    mask = os.umask(0o027)
    try:
        write_text(tmp_path / "a.txt", "x")
        (tmp_path / "b.txt").write_text("x")
    finally:
        os.umask(mask)
    modes = {p.name: p.stat().st_mode & 0o777 for p in tmp_path.iterdir()}
    assert modes == {"a.txt": 0o640, "b.txt": 0o640}


def test_a_device_is_written_in_place_and_a_full_one_named():
    write_text("/dev/null", "x")              # not replaced by a file
    assert Path("/dev/null").is_char_device()
    with pytest.raises(OSError) as info:
        write_text("/dev/full", "x" * 10000)
    assert info.value.errno == errno.ENOSPC
    assert describe_error(info.value) == (
        "/dev/full: no space left on the device; free some space or write "
        "elsewhere")


def test_the_command_line_gives_one_line_and_status_2(capsys):
    def fails(args):
        write_text("/dev/full", "x" * 10000)
    assert run_command(fails, None) == 2
    assert capsys.readouterr().err == (
        "error: /dev/full: no space left on the device; free some space or "
        "write elsewhere\n")


def test_hdf5_files_need_room_first(tmp_path, monkeypatch):
    import shutil
    from collections import namedtuple
    usage = namedtuple("usage", "total used free")
    monkeypatch.setattr(shutil, "disk_usage", lambda _: usage(1, 1, 1000))
    with pytest.raises(OSError) as info:
        check_space(tmp_path, 2000)
    assert info.value.errno == errno.ENOSPC
    assert describe_error(info.value).startswith(f"{tmp_path}: no space")


@pytest.fixture
def full_disk(tmp_path):
    """A 256 KiB file system (tmpfs; needs the right to mount)."""
    folder = tmp_path / "small"
    folder.mkdir()
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=256k",
                              "tmpfs", str(folder)], capture_output=True)
    if mounted.returncode:
        pytest.skip("cannot mount a small file system here")
    yield folder
    subprocess.run(["umount", str(folder)], check=True)


def test_weights_on_a_full_disk_fail_cleanly(full_disk, random_weights):
    """HDF5 crashes the process at exit (SIGSEGV) when the disk fills during
    a write, whatever the caller does: the room is checked first."""
    _, weights = random_weights
    code = (
        "import sys\n"
        "from soundnet_keras.console import run_command\n"
        "from soundnet_keras.weights import read_weights, write_weights\n"
        "def copy(_):\n"
        f"    write_weights({str(full_disk / 'w.weights.h5')!r},\n"
        f"                  read_weights({str(weights)!r}))\n"
        "sys.exit(run_command(copy, None))\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True,
                          text=True, cwd=ROOT)
    assert done.returncode == 2, done.stderr[-2000:]
    assert done.stderr.strip().splitlines() == [
        f"error: {full_disk}: no space left on the device; free some space "
        "or write elsewhere"]
    assert list(full_disk.iterdir()) == []
