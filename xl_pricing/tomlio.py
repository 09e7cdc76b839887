"""Reading TOML and JSON input files with exact decimals and clear errors."""

from __future__ import annotations

import hashlib
import json
import os
import stat
import tomllib
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from .errors import InputError


MiB = 1024 * 1024
PROJECT_LIMIT = 1 * MiB  # a project file: far above any real one (a few KiB)
CARD_LIMIT = 1 * MiB  # a rate card: the shipped ones are under 10 KiB
MAX_DEPTH = 32  # tables and lists inside each other; real cards and projects use 4


def read_bytes(path: Path, limit: int) -> bytes:
    """A regular file's bytes, at most ``limit`` of them.

    The file is opened without blocking (a FIFO would otherwise wait for a writer) and
    checked with ``fstat`` before anything is read: a device (``/dev/zero``), FIFO, socket
    or directory is refused, and so is a file larger than ``limit`` bytes (also one that
    grows while it is read).

    Raises:
        InputError: missing, not a regular file, too large or unreadable.
    """
    src = str(path)
    try:
        fd = os.open(src, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0))
    except FileNotFoundError:
        raise InputError("file", src, "an existing file", source=src) from None
    except IsADirectoryError:
        raise InputError("file", src, "a file, not a directory", source=src) from None
    except OSError as exc:
        raise InputError("file", src, f"a readable file ({exc.strerror})", source=src) from None
    try:
        st = os.fstat(fd)
        if stat.S_ISDIR(st.st_mode):
            raise InputError("file", src, "a file, not a directory", source=src)
        if not stat.S_ISREG(st.st_mode):
            raise InputError("file", src, "a regular file (not a device, FIFO or socket)",
                             source=src)
        too_big = InputError("file", src, f"a file of at most {limit:,} bytes", source=src)
        if st.st_size > limit:
            raise too_big
        chunks, total = [], 0
        while total <= limit:
            chunk = os.read(fd, min(limit + 1 - total, MiB))
            if not chunk:
                break
            chunks.append(chunk)
            total += len(chunk)
        if total > limit:
            raise too_big
        return b"".join(chunks)
    except OSError as exc:
        raise InputError("file", src, f"a readable file ({exc.strerror})", source=src) from None
    finally:
        os.close(fd)


def read_document(path: Path, limit: int = PROJECT_LIMIT) -> dict[str, Any]:
    """Parse a ``.toml`` or ``.json`` file of at most ``limit`` bytes; floats become Decimal
    so 0.547 stays 0.547.

    Raises:
        InputError: the file is missing, not a regular file, larger than ``limit``,
            unreadable, not UTF-8, not valid TOML/JSON or nested too deeply.
    """
    src = str(path)
    raw = read_bytes(path, limit)
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        start = exc.start + (3 if raw.startswith(b"\xef\xbb\xbf") else 0)
        line = raw.count(b"\n", 0, start) + 1
        col = start - (raw.rfind(b"\n", 0, start) + 1) + 1
        raise InputError("file", f"line {line}, column {col} (byte 0x{raw[start]:02x})",
                         "UTF-8 text", source=src) from None
    try:
        if path.suffix.lower() == ".json":
            try:
                data = json.loads(text, parse_float=Decimal)
            except json.JSONDecodeError as exc:
                raise InputError(f"JSON syntax (line {exc.lineno}, column {exc.colno})",
                                 exc.msg, "valid JSON", source=src) from None
        else:
            _refuse_deep_keys(text, src)
            try:
                data = tomllib.loads(text, parse_float=Decimal)
            except tomllib.TOMLDecodeError as exc:
                raise InputError("TOML syntax", str(exc), "valid TOML", source=src) from None
    except RecursionError:
        raise InputError("file", src, f"tables and lists nested at most {MAX_DEPTH} levels "
                         "deep", source=src) from None
    if depth(data) > MAX_DEPTH:
        # Dotted keys (a.b.c… = 1) nest without limit in a parser that does not recurse;
        # everything that walks the content afterwards (validation, messages, the hash)
        # does.
        raise InputError("file", src, f"tables and lists nested at most {MAX_DEPTH} levels "
                         "deep", source=src)
    if not isinstance(data, dict):
        raise InputError("(top level)", type(data).__name__, "a table of keys", source=src)
    return data


def _refuse_deep_keys(text: str, src: str) -> None:
    """Refuse, before parsing, a TOML key or table header of more than MAX_DEPTH dotted
    parts: tomllib builds such a key's tables without recursing, and a 200 KB line
    ``a.a.a…=1`` took all the machine's memory."""
    for n, line in enumerate(text.splitlines(), start=1):
        key = line.split("=", 1)[0]
        if key.count(".") >= MAX_DEPTH:
            raise InputError(f"line {n}", key.strip()[:40] + "...", f"a key of at most "
                             f"{MAX_DEPTH} dotted parts (tables nested at most {MAX_DEPTH} "
                             "levels deep)", source=src)


def depth(data: Any) -> int:
    """How many tables and lists are nested inside each other (counted without recursion).

    >>> depth({"a": [1, {"b": 2}]}), depth(3)
    (3, 0)
    """
    deepest, stack = 0, [(data, 1)]
    while stack:
        node, level = stack.pop()
        children = node.values() if isinstance(node, dict) else node if isinstance(
            node, list) else None
        if children is None:
            continue
        deepest = max(deepest, level)
        stack.extend((child, level + 1) for child in children)
    return deepest


def _canonical(obj: Any) -> Any:
    if isinstance(obj, dict):
        return {str(k): _canonical(v) for k, v in sorted(obj.items())}
    if isinstance(obj, (list, tuple)):
        return [_canonical(v) for v in obj]
    if isinstance(obj, bool):
        return obj
    if isinstance(obj, (int, Decimal)):
        # One spelling per number: 1000, 1_000 and 1000.0 hash alike, as do 0.3 and 0.30.
        return format(Decimal(obj).normalize(), "f")
    if isinstance(obj, (date, datetime)):
        return obj.isoformat()
    return obj


def content_sha256(data: dict[str, Any]) -> str:
    """sha256 of the canonical JSON form of parsed content.

    Comments, key order and number spelling (``1_000`` vs ``1000``, ``0.30`` vs ``0.3``)
    do not change the hash; any value does.
    """
    text = json.dumps(_canonical(data), ensure_ascii=False, sort_keys=True,
                      separators=(",", ":"))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()
