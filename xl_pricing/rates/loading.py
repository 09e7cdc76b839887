"""Finding, reading and caching rate cards.

A card is named by a path (CLI, desktop Excel) or by an id: a card in the folder named by
the ``XL_PRICING_RATES`` environment variable, else a shipped card (``templates/rates``).
Under xlwings Server only ids are accepted (:func:`load_card_id`): a caller on the network
names no file, and an invalid card's message quotes nothing from it.

One cache: a parsed card is kept under its resolved path, modification time and size, and
every lookup checks them (one ``stat`` per call), so an edited or newly dropped card is
seen at the next call.
"""

from __future__ import annotations

import functools
import os
import re
from pathlib import Path
from typing import Any

import pydantic

from ..errors import InputError
from ..tomlio import CARD_LIMIT, content_sha256, read_document
from ..validation import from_pydantic
from .card import RateCard
from .schema import RateCardModel

DEFAULT_CARD = "jp-default"
SUFFIXES = (".toml", ".json")
# A card id: what a server caller may send.  No separators, no "..", no suffix.
CARD_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}")


@functools.cache
def templates_dir() -> Path:
    """Folder holding the shipped ``rates/`` and ``projects/`` (fixed by the installation,
    so found once).

    In an installed wheel it is packaged as ``xl_pricing/_templates``; in a source checkout
    (and an editable install) it is the repository's ``templates/``.
    """
    package = Path(__file__).resolve().parent.parent
    packaged = package / "_templates"
    return packaged if packaged.is_dir() else package.parent / "templates"


def shipped_cards() -> dict[str, Path]:
    """Shipped rate cards by id (the file stem)."""
    return {p.stem: p for p in sorted((templates_dir() / "rates").glob("*.toml"))}


def _user_dir() -> Path | None:
    env = os.environ.get("XL_PRICING_RATES")
    return Path(env) if env else None


def _by_id(text: str) -> Path | None:
    """The file of card id ``text``: the XL_PRICING_RATES folder first, then shipped."""
    user = _user_dir()
    if user is not None:
        for ext in SUFFIXES:
            if (user / f"{text}{ext}").is_file():
                return user / f"{text}{ext}"
    shipped = os.path.join(templates_dir(), "rates", f"{text}.toml")
    return Path(shipped) if os.path.isfile(shipped) else None


def _unknown(text: str) -> InputError:
    user = _user_dir()
    where = " or in the XL_PRICING_RATES folder" if user else ""
    return InputError("card", text, f"a path to a .toml rate card, or a card id{where}: "
                      + ", ".join(shipped_cards()))


def resolve_card(ref: str | os.PathLike[str] | None) -> Path:
    """Where the card named ``ref`` lives.

    ``ref`` is a path to a ``.toml``/``.json`` file, the id of a card in the folder named by
    the ``XL_PRICING_RATES`` environment variable, or a shipped card id.  ``None`` or ``""``
    means the default card (``jp-default``).
    """
    if ref is None or str(ref).strip() == "":
        ref = DEFAULT_CARD
    text = str(ref).strip()
    p = Path(text)
    if p.suffix.lower() in SUFFIXES or os.sep in text or "/" in text:
        return p
    found = _by_id(text)
    if found is None:
        raise _unknown(text)
    return found


def parse_card(data: dict[str, Any], source: str) -> RateCard:
    """Validate parsed rate-card content (from TOML or JSON)."""
    try:
        model = RateCardModel.model_validate(data)
    except pydantic.ValidationError as exc:
        raise from_pydantic(exc, source, RateCardModel) from None
    return RateCard(model=model, sha256=content_sha256(data), path=source)


def deep_merge(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    """``over`` laid on ``base``: tables merge key by key, anything else (arrays too) is
    replaced, so a card that extends another restates a whole list of F&A rates."""
    out = dict(base)
    for k, v in over.items():
        out[k] = deep_merge(out[k], v) if isinstance(v, dict) and isinstance(
            out.get(k), dict) else v
    return out


def read_card_document(path: Path, _seen: tuple[str, ...] = ()) -> dict[str, Any]:
    """A card's content with any ``[card] extends = "..."`` base merged under it (each
    file read with the card size limit)."""
    data = read_document(path, CARD_LIMIT)
    info = data.get("card")
    parent = info.get("extends") if isinstance(info, dict) else None
    if parent is None:
        return data
    if not isinstance(parent, str):
        raise InputError("card.extends", parent, "the id or path of another rate card",
                         source=str(path))
    key = str(path.resolve())
    if key in _seen:
        raise InputError("card.extends", parent, "a base card that does not extend this "
                         "card again (the chain is circular)", source=str(path))
    try:
        base_path = resolve_card(parent if not parent.endswith(SUFFIXES)
                                 else str(path.parent / parent))
        if not base_path.is_file():
            raise InputError("card.extends", parent,
                             f"an existing rate-card file (no file at {base_path})",
                             source=str(path))
    except InputError as exc:
        if exc.field == "card":
            raise InputError("card.extends", parent, exc.expected, str(path)) from None
        raise
    base = read_card_document(base_path, (*_seen, key))
    merged = deep_merge(base, data)
    merged["card"] = {k: v for k, v in data["card"].items()}
    merged["card"]["extends"] = parent
    return merged


# The one card cache: resolved path → (modification time, size, card).  A card that
# extends another is keyed by its own file; edit the base and touch the child (or restart)
# to see the change.
_CACHE: dict[str, tuple[int, int, RateCard]] = {}
_CACHE_MAX = 64


def _load_path(path: Path, what: str) -> RateCard:
    try:
        resolved = os.path.realpath(path)
        st = os.stat(resolved)
    except OSError:
        raise InputError("card", what, "an existing rate-card file") from None
    hit = _CACHE.get(resolved)
    if hit is not None and hit[0] == st.st_mtime_ns and hit[1] == st.st_size:
        return hit[2]
    card = parse_card(read_card_document(Path(resolved)), str(path))
    if len(_CACHE) >= _CACHE_MAX:
        _CACHE.pop(next(iter(_CACHE)))
    _CACHE[resolved] = (st.st_mtime_ns, st.st_size, card)
    return card


def load_card(ref: str | os.PathLike[str] | None = None) -> RateCard:
    """Load and validate a rate card (see :func:`resolve_card` for what ``ref`` may be).

    Cached by resolved path, modification time and size, checked on every call: an edited
    card, or a card dropped into ``XL_PRICING_RATES`` under a shipped card's id, is seen at
    the next call.

    Raises:
        InputError: unknown card, unreadable file, invalid TOML or invalid content — the
            message names the file, key path, value and what was expected.
    """
    path = resolve_card(ref)
    return _load_path(path, str(ref).strip() if ref is not None and str(ref).strip()
                      else str(path))


def load_card_id(ref: Any) -> RateCard:
    """The card with id ``ref`` (``None`` or blank: the default), for callers on a network.

    Only an id is accepted — letters, digits, ``_ . -``, up to 64 characters, no path
    separator, no ``..``, no ``.toml`` suffix — and only a card of the XL_PRICING_RATES
    folder or a shipped one.  When that card's file is invalid the message names the id
    only: nothing of the file's content reaches the caller.

    Example:
        >>> load_card_id("harvard").id
        'harvard'
        >>> load_card_id("/etc/passwd")
        Traceback (most recent call last):
        ...
        xl_pricing.errors.InputError: card = '/etc/passwd': expected a card id (letters, digits, '_', '.', '-'; no path), one of the configured cards
    """
    if ref is None or (isinstance(ref, str) and not ref.strip()):
        ref = DEFAULT_CARD
    expected = "a card id (letters, digits, '_', '.', '-'; no path), one of the configured cards"
    if not isinstance(ref, str):
        raise InputError("card", ref, expected)
    text = ref.strip()
    if (not CARD_ID.fullmatch(text) or ".." in text
            or text.lower().endswith(SUFFIXES)):
        raise InputError("card", text[:80], expected)
    path = _by_id(text)
    if path is None:
        raise InputError("card", text, f"{expected}: " + ", ".join(sorted(_known_ids())))
    try:
        return _load_path(path, text)
    except InputError:
        raise InputError("card", text, "a valid rate card (this card's file is invalid or "
                         "unreadable: its maintainer can run `xl-pricing rates check`)") \
            from None


def _known_ids() -> set[str]:
    ids = set(shipped_cards())
    user = _user_dir()
    if user is not None and user.is_dir():
        ids |= {p.stem for p in user.iterdir()
                if p.suffix.lower() in SUFFIXES and CARD_ID.fullmatch(p.stem)}
    return ids
