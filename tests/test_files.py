"""files: atomic, race-free writes with the user's permissions; inputs never outputs."""

from __future__ import annotations

import multiprocessing
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from xl_pricing.files import (OutputExists, OutputIsInput, clean_stale, refuse_inputs,
                              temp_name, write_file)


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_new_files_follow_the_umask(tmp_path):
    old = os.umask(0o022)
    try:
        assert mode(write_file(tmp_path / "a.xlsx", b"x")) == 0o644
        os.umask(0o002)
        assert mode(write_file(tmp_path / "b.xlsx", b"x")) == 0o664
    finally:
        os.umask(old)


def test_a_replaced_file_keeps_its_mode(tmp_path):
    f = tmp_path / "w.xlsx"
    f.write_bytes(b"old")
    f.chmod(0o644)
    write_file(f, b"new", replace=True)
    assert f.read_bytes() == b"new" and mode(f) == 0o644


def test_existing_file_refused_without_replace(tmp_path):
    f = tmp_path / "w.xlsx"
    f.write_bytes(b"keep")
    with pytest.raises(OutputExists, match="w.xlsx"):
        write_file(f, b"new", field="--out")
    assert f.read_bytes() == b"keep"
    assert not list(tmp_path.glob(".*"))  # no temporary file left behind


def test_a_folder_is_not_a_file(tmp_path):
    with pytest.raises(Exception, match="a file name, not a folder"):
        write_file(tmp_path, b"x", replace=True)


def _race(args: tuple[str, int]) -> str:
    path, n = args
    try:
        write_file(Path(path), str(n).encode())
        return "won"
    except OutputExists:
        return "refused"


def test_two_writers_of_one_name_never_replace_each_other(tmp_path):
    target = tmp_path / "summary.xlsx"
    with multiprocessing.get_context("fork").Pool(4) as pool:
        results = pool.map(_race, [(str(target), n) for n in range(16)])
    assert results.count("won") == 1 and results.count("refused") == 15
    assert target.read_bytes().decode() in {str(n) for n in range(16)}


def test_stale_temporary_files_are_cleaned_live_ones_kept(tmp_path):
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True).stdout.strip()
    mine = temp_name(tmp_path / "q.xlsx")
    mine.write_bytes(b"live")
    stale = tmp_path / mine.name.replace(f"-{os.getpid()}-", f"-{dead}-")
    stale.write_bytes(b"dead")
    other_host = tmp_path / ".q.xlsx.elsewhere-1-abcd.xlp-tmp"
    other_host.write_bytes(b"recent, other machine")
    assert clean_stale(tmp_path) == [stale]
    assert mine.exists() and other_host.exists()
    old = os.path.getmtime(other_host) - 2 * 24 * 3600
    os.utime(other_host, (old, old))
    assert clean_stale(tmp_path) == [other_host]


def test_inputs_are_never_outputs(tmp_path):
    src = tmp_path / "w.xlsx"
    src.write_bytes(b"workbook")
    link = tmp_path / "link.xlsx"
    link.symlink_to(src)
    hard = tmp_path / "hard.xlsx"
    os.link(src, hard)
    for out in (src, tmp_path / "." / "w.xlsx", link, hard):
        with pytest.raises(OutputIsInput):
            refuse_inputs([out], [src])
    refuse_inputs([tmp_path / "w.pdf"], [src])  # another file: fine
