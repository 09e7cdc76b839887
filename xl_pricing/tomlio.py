"""Reading TOML and JSON input files with exact decimals and clear errors."""

from __future__ import annotations

import hashlib
import json
import tomllib
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from .errors import InputError


def read_document(path: Path) -> dict[str, Any]:
    """Parse a ``.toml`` or ``.json`` file; floats become Decimal so 0.547 stays 0.547.

    Raises:
        InputError: the file is missing, unreadable, not UTF-8 or not valid TOML/JSON.
    """
    src = str(path)
    if not path.exists():
        raise InputError("file", src, "an existing file", source=src)
    if path.is_dir():
        raise InputError("file", src, "a file, not a directory", source=src)
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as exc:
        raw = path.read_bytes()[: exc.start]
        line = raw.count(b"\n") + 1
        col = exc.start - (raw.rfind(b"\n") + 1) + 1
        bad = exc.object[exc.start]
        raise InputError("file", f"line {line}, column {col} (byte 0x{bad:02x})",
                         "UTF-8 text", source=src) from None
    except OSError as exc:
        raise InputError("file", src, f"a readable file ({exc.strerror})", source=src) from None
    if path.suffix.lower() == ".json":
        try:
            data = json.loads(text, parse_float=Decimal)
        except json.JSONDecodeError as exc:
            raise InputError(f"JSON syntax (line {exc.lineno}, column {exc.colno})",
                             exc.msg, "valid JSON", source=src) from None
    else:
        try:
            data = tomllib.loads(text, parse_float=Decimal)
        except tomllib.TOMLDecodeError as exc:
            raise InputError("TOML syntax", str(exc), "valid TOML", source=src) from None
    if not isinstance(data, dict):
        raise InputError("(top level)", type(data).__name__, "a table of keys", source=src)
    return data


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
