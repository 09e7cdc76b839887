"""Writing output files safely: atomically, without races, with the user's permissions.

Every file the product writes (workbooks, batch summaries, PDFs, configuration) goes
through :func:`write_file`, so that

* a reader never sees a half-written file: the bytes go to a temporary file in the same
  folder, which is then renamed into place;
* two runs writing into one folder cannot replace each other's files: without
  ``replace=True`` the final name is claimed with ``os.link``, which fails when the name
  exists (no check-then-rename window);
* files get the permissions the user's umask gives (``0o666 & ~umask``, 0644 usually), and a
  replaced file keeps its own mode, so a workbook on an office's shared drive stays
  readable by colleagues;
* temporary files left by a killed run are recognised by their name and removed by the next
  run (:func:`clean_stale`);
* an output never overwrites one of the command's inputs (:func:`refuse_inputs`).

No Excel and no CLI here: errors are :class:`~xl_pricing.errors.InputError` subclasses
naming the file; the CLI adds its flag names.
"""

from __future__ import annotations

import os
import secrets
import socket
import time
from pathlib import Path
from typing import Iterable

from .errors import InputError

TEMP_SUFFIX = ".xlp-tmp"
STALE_AFTER = 24 * 3600  # seconds: another machine's temporary file older than this is dead


class OutputExists(InputError):
    """The output file exists already and replacing it was not asked for."""

    def __init__(self, path: Path, field: str = "output"):
        super().__init__(field, str(path), "a file that does not exist yet "
                         "(or ask to replace it: --force)")
        self.path = path


class OutputIsInput(InputError):
    """An output path names one of the command's own input files."""

    def __init__(self, path: Path, field: str = "output"):
        super().__init__(field, str(path), "an output file other than the command's input "
                         "(an input is never overwritten, with --force or not)")
        self.path = path


def _host() -> str:
    return "".join(c for c in socket.gethostname() if c.isalnum() or c in "-_")[:40] or "host"


def temp_name(path: Path) -> Path:
    """The temporary file next to ``path``: ``.NAME.HOST-PID-RANDOM.xlp-tmp``.

    The host and process id let :func:`clean_stale` tell a live writer from a dead one.

    >>> temp_name(Path("out/q.xlsx")).name.startswith(".q.xlsx.")
    True
    """
    return path.with_name(f".{path.name}.{_host()}-{os.getpid()}-{secrets.token_hex(4)}"
                          f"{TEMP_SUFFIX}")


def _write_temp(tmp: Path, data: bytes, mode: int | None) -> None:
    # os.open with 0o666 lets the umask decide (mkstemp would force 0600).
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0),
                 0o666)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        if mode is not None:
            os.chmod(tmp, mode)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def _claim(tmp: Path, path: Path) -> None:
    """Give ``tmp`` the name ``path`` only if no file has it (atomic, no race)."""
    try:
        os.link(tmp, path)
    except FileExistsError:
        raise
    except OSError:
        # A file system without hard links (some network shares): claim the name with an
        # exclusive create, then move the finished file over the placeholder.
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
        os.close(fd)
        os.replace(tmp, path)
        return
    tmp.unlink(missing_ok=True)


def write_file(path: str | os.PathLike[str], data: bytes, *, replace: bool = False,
               field: str = "output") -> Path:
    """Write ``data`` to ``path`` atomically; refuse an existing file unless ``replace``.

    Args:
        path: the file to write; its folder is created when missing.
        data: the whole content.
        replace: replace an existing file (keeping its permissions).
        field: how the caller names this output in messages (``--out``).

    Returns:
        The path written.

    Raises:
        OutputExists: ``path`` exists and ``replace`` is false — also when another process
            created it a moment earlier.
        InputError: the folder or file cannot be written (message names the path).

    Example:
        >>> import tempfile
        >>> d = Path(tempfile.mkdtemp())
        >>> write_file(d / "a.txt", b"1").read_bytes()
        b'1'
        >>> write_file(d / "a.txt", b"2")  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ...
        xl_pricing.files.OutputExists: output = '...a.txt': expected a file that does not exist yet (or ask to replace it: --force)
    """
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        if path.is_dir():
            raise InputError(field, str(path), "a file name, not a folder")
        mode = None
        if replace:
            try:
                mode = path.stat().st_mode & 0o7777
            except FileNotFoundError:
                pass
        elif path.exists():
            raise OutputExists(path, field)
        tmp = temp_name(path)
        _write_temp(tmp, data, mode)
        try:
            if replace:
                os.replace(tmp, path)
            else:
                _claim(tmp, path)
        except FileExistsError:
            raise OutputExists(path, field) from None
        finally:
            tmp.unlink(missing_ok=True)
    except InputError:
        raise
    except OSError as exc:
        raise InputError(field, str(path), f"a file that can be written ({exc.strerror or exc})"
                         ) from None
    return path


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OSError):
        return True  # exists, owned by someone else
    return True


def clean_stale(folder: str | os.PathLike[str]) -> list[Path]:
    """Remove the temporary files a killed run left in ``folder``; return what was removed.

    A file is stale when it was written on this machine by a process that no longer runs,
    or on another machine more than a day ago.  Files of live writers are kept.
    """
    removed: list[Path] = []
    here = _host()
    try:
        candidates = list(Path(folder).glob(f".*{TEMP_SUFFIX}"))
    except OSError:
        return removed
    for tmp in candidates:
        stamp = tmp.name[:-len(TEMP_SUFFIX)].rsplit(".", 1)[-1]  # HOST-PID-RANDOM
        parts = stamp.rsplit("-", 2)
        try:
            if len(parts) == 3 and parts[0] == here and parts[1].isdigit():
                stale = not _alive(int(parts[1]))
            else:
                stale = time.time() - tmp.stat().st_mtime > STALE_AFTER
            if stale:
                tmp.unlink()
                removed.append(tmp)
        except OSError:
            continue
    return removed


def refuse_inputs(outputs: Iterable[str | os.PathLike[str]],
                  inputs: Iterable[str | os.PathLike[str]], field: str = "output") -> None:
    """Raise :class:`OutputIsInput` when an output path is one of the input files.

    Compares resolved paths and, for files that exist, their device and inode, so a
    different spelling, a symbolic or a hard link of the input is caught too.

    >>> refuse_inputs(["a/../w.xlsx"], ["w.xlsx"])
    Traceback (most recent call last):
    ...
    xl_pricing.files.OutputIsInput: output = 'a/../w.xlsx': expected an output file other than the command's input (an input is never overwritten, with --force or not)
    """
    ins = [Path(p) for p in inputs]
    for out in map(Path, outputs):
        for src in ins:
            same = out.resolve() == src.resolve()
            if not same and out.exists() and src.exists():
                try:
                    same = os.path.samefile(out, src)
                except OSError:
                    same = False
            if same:
                raise OutputIsInput(out, field)
