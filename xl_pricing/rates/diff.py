"""What changed between two versions of a rate card, and which quotes and workbooks it moves.

:func:`diff_cards` walks the two validated cards generically (their ``model_dump``), so
every setting the schema has — today's and any a later rule adds — is compared without a
list of known keys: every rate, fee, condition, label and effective date that differs is
one :class:`Change` row ``(path, old, new)``; a setting or list entry only one card has is
``added`` or ``removed``.

:func:`scan` looks through a folder for quotes (JSON written by ``quote --json``: the card's
sha256 is ``rate_card.sha256``) and standard workbooks (``.xlsx``/``.xlsm`` made by
``build``: the defined name ``CardSha256`` on the Rates sheet) made with the old card, and
re-prices each with the new card: quotes from the project inputs they carry (``inputs``),
workbooks from the inputs on their Project sheet (:mod:`xl_pricing.readback`).

Example:
    >>> from xl_pricing.rates import load_card
    >>> [c.path for c in diff_cards(load_card("jp-default"), load_card("kek"))][:3]
    ['card.id', 'card.institution', 'card.version']
"""

from __future__ import annotations

import datetime as dt
import os
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any, Iterator, Literal

from ..errors import InputError
from .card import RateCard

ChangeKind = Literal["changed", "added", "removed"]
KIND_WORDS: dict[str, tuple[str, str]] = {"changed": ("変更", "changed"),
                                          "added": ("追加", "added"),
                                          "removed": ("削除", "removed")}


class _Absent:
    """The value on the side where a setting does not exist."""

    def __repr__(self) -> str:
        return "—"


ABSENT: Any = _Absent()


@dataclass(frozen=True)
class Change:
    """One setting that differs: its dotted path, the old and the new value.

    ``old`` is :data:`ABSENT` for an added setting, ``new`` for a removed one.
    """

    path: str
    old: Any
    new: Any

    @property
    def kind(self) -> ChangeKind:
        if self.old is ABSENT:
            return "added"
        if self.new is ABSENT:
            return "removed"
        return "changed"

    def to_dict(self) -> dict[str, Any]:
        """JSON form: values as in a card file (dates ISO, fractions and yen as numbers);
        ``null`` on the side where the setting does not exist."""
        return {"path": self.path, "change": self.kind, "old": json_value(self.old),
                "new": json_value(self.new)}


def json_value(value: Any) -> Any:
    """A card value for JSON: Decimal → int when whole, else float; date → ISO text.

    >>> json_value(Decimal("0.30")), json_value(Decimal("432000")), json_value(ABSENT)
    (0.3, 432000, None)
    """
    if value is ABSENT:
        return None
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat()
    if isinstance(value, dict):
        return {str(k): json_value(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_value(v) for v in value]
    return value


def show(value: Any) -> str:
    """A card value as a person reads it: yen with separators, fractions as written.

    >>> show(Decimal("432000")), show(Decimal("0.350")), show(["joint", "sponsored"])
    ('432,000', '0.35', 'joint, sponsored')
    """
    if value is ABSENT:
        return "—"
    if value is None:
        return "(none / なし)"
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, Decimal):
        if value == value.to_integral_value():
            return f"{int(value):,}"
        return format(value.normalize(), "f")
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat()
    if isinstance(value, (list, tuple)):
        return ", ".join(show(v) for v in value) if value else "[]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k} = {show(v)}" for k, v in value.items()) + "}"
    return str(value)


# -- the generic walk -------------------------------------------------------------------

def _scalar(value: Any) -> bool:
    return not isinstance(value, (dict, list, tuple))


def _key_text(value: Any) -> str:
    return value.isoformat() if isinstance(value, (dt.date, dt.datetime)) else str(value)


# Words that describe an entry rather than identify it: a changed note is a change of
# the entry, not a new entry.
DESCRIPTIVE = frozenset({"note", "label", "label_ja", "label_en", "description", "source"})


def _entry_keys(items: list[Any]) -> list[str] | None:
    """Names for the entries of a list of tables, so an entry is compared with its
    counterpart even when others were inserted before it: the entry's text and date
    settings other than descriptive text (``research/on``, ``cambridge-professor``,
    ``research/on/2027-07-01``), then with whole numbers too (``publications/50``).  ``None`` when that does not tell every
    entry apart (a list of ``{rate, when}`` cases): then entries pair by position, which is
    what an ordered, first-match list means."""
    if not items or not all(isinstance(i, dict) for i in items):
        return None
    for with_ints in (False, True):
        keys = []
        for item in items:
            parts = [_key_text(v) for k, v in item.items()
                     if k not in DESCRIPTIVE and v is not None and v != ""
                     and not isinstance(v, (bool, Decimal, dict, list))
                     and (with_ints or not isinstance(v, int))]
            keys.append("/".join(parts))
        if all(keys) and len(set(keys)) == len(keys):
            return keys
    return None


def _leaves(path: str, value: Any) -> Iterator[tuple[str, Any]]:
    """Every setting inside ``value`` (a whole added or removed table, one row each);
    settings left unset inside it (``None``, empty) are not rows."""
    if isinstance(value, dict) and value:
        for k, v in value.items():
            yield from _leaves(f"{path}.{k}", v)
    elif isinstance(value, list) and value and not all(_scalar(v) for v in value):
        keys = _entry_keys(value)
        for i, v in enumerate(value):
            yield from _leaves(f"{path}[{keys[i] if keys else i}]", v)
    elif value is not None and value != "" and value != {} and value != []:
        yield path, value


def _walk(path: str, old: Any, new: Any) -> Iterator[Change]:
    # An optional table set on one side only (``laureate``, ``floor``): its settings are
    # added or removed one by one.
    if old is None and isinstance(new, (dict, list)) and new:
        yield from (Change(p, ABSENT, v) for p, v in _leaves(path, new))
        return
    if new is None and isinstance(old, (dict, list)) and old:
        yield from (Change(p, v, ABSENT) for p, v in _leaves(path, old))
        return
    if isinstance(old, dict) and isinstance(new, dict):
        for k in [*old, *(k for k in new if k not in old)]:
            sub = f"{path}.{k}" if path else str(k)
            if k not in new:
                yield from (Change(p, v, ABSENT) for p, v in _leaves(sub, old[k]))
            elif k not in old:
                yield from (Change(p, ABSENT, v) for p, v in _leaves(sub, new[k]))
            else:
                yield from _walk(sub, old[k], new[k])
        return
    tables = (isinstance(old, list) and isinstance(new, list)
              and not all(_scalar(v) for v in [*old, *new]))
    if tables:
        ok, nk = _entry_keys(old), _entry_keys(new)
        if ok is not None and nk is not None:
            o, n = dict(zip(ok, old)), dict(zip(nk, new))
            for k in [*ok, *(k for k in nk if k not in o)]:
                sub = f"{path}[{k}]"
                if k not in n:
                    yield from (Change(p, v, ABSENT) for p, v in _leaves(sub, o[k]))
                elif k not in o:
                    yield from (Change(p, ABSENT, v) for p, v in _leaves(sub, n[k]))
                else:
                    yield from _walk(sub, o[k], n[k])
            return
        for i in range(max(len(old), len(new))):
            sub = f"{path}[{i}]"
            if i >= len(new):
                yield from (Change(p, v, ABSENT) for p, v in _leaves(sub, old[i]))
            elif i >= len(old):
                yield from (Change(p, ABSENT, v) for p, v in _leaves(sub, new[i]))
            else:
                yield from _walk(sub, old[i], new[i])
        return
    if type(old) is not type(new) and not (isinstance(old, (int, Decimal))
                                           and isinstance(new, (int, Decimal))):
        yield Change(path, old, new)
    elif old != new:
        yield Change(path, old, new)


def diff_cards(old: RateCard, new: RateCard) -> list[Change]:
    """Every setting that differs between two validated cards, in the card's order.

    Both cards are compared as validated (an ``extends`` base merged in, defaults filled),
    so ``0.3`` and ``0.30`` are the same rate and a default written out changes nothing.
    Tables compare key by key; lists of tables entry by entry (by their text/date
    settings, e.g. F&A ``research/on``; by position when those do not tell entries apart);
    lists of plain values (``applies_to``) as a whole.

    Example (by hand: jp-default's indirect 0.30 → kek's 0.10):
        >>> from xl_pricing.rates import load_card
        >>> [(c.old, c.new) for c in diff_cards(load_card("jp-default"), load_card("kek"))
        ...  if c.path == "indirect.rate"]
        [(Decimal('0.30'), Decimal('0.10'))]
    """
    return list(_walk("", old.model.model_dump(), new.model.model_dump()))


# -- the scan of a folder ---------------------------------------------------------------

FileKind = Literal["quote", "workbook"]
MAX_FILES = 10_000  # files looked at in one scan: a folder of quotes, not a disk


@dataclass(frozen=True)
class Affected:
    """A file made with the old card: its total then and under the new card.

    ``old_total`` is what the file says (a quote's ``total``) or, for a workbook, the
    engine's price of its inputs with the old card; ``new_total`` the engine's price with
    the new card; ``None`` with ``note`` saying why it could not be priced.
    """

    file: str
    kind: FileKind
    project: str | None
    old_total: Decimal | None
    new_total: Decimal | None
    note: str = ""

    @property
    def difference(self) -> Decimal | None:
        if self.old_total is None or self.new_total is None:
            return None
        return self.new_total - self.old_total

    def to_dict(self) -> dict[str, Any]:
        d = self.difference
        return {"file": self.file, "kind": self.kind, "project": self.project,
                "old_total": None if self.old_total is None else int(self.old_total),
                "new_total": None if self.new_total is None else int(self.new_total),
                "difference": None if d is None else int(d), "note": self.note}


@dataclass(frozen=True)
class ScanResult:
    """The files made with the old card, and how many others were looked at and left."""

    affected: tuple[Affected, ...]
    other_files: int

    def to_dict(self) -> dict[str, Any]:
        return {"affected": [a.to_dict() for a in self.affected],
                "other_files": self.other_files}


def _files(folder: Path) -> list[Path]:
    out: list[Path] = []
    for root, dirs, names in os.walk(folder):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        for n in sorted(names):
            if n.lower().endswith((".json", ".xlsx", ".xlsm")) and not n.startswith((".", "~$")):
                out.append(Path(root) / n)
                if len(out) > MAX_FILES:
                    raise InputError("--scan", str(folder), f"a folder with at most "
                                     f"{MAX_FILES:,} quotes and workbooks")
    return out


def _price(project: Any, card: RateCard) -> Decimal:
    from ..validation import check_against_card

    return check_against_card(project, card).total


def _quote_file(path: Path, old: RateCard, new: RateCard, shown: str) -> Affected | None:
    from ..project import parse_project
    from ..tomlio import PROJECT_LIMIT, read_document

    try:
        data = read_document(path, PROJECT_LIMIT)
    except InputError:
        return None  # not a readable JSON document: not a quote of ours
    card = data.get("rate_card")
    if not isinstance(card, dict) or card.get("sha256") != old.sha256 or not isinstance(
            data.get("lines"), list):
        return None  # another card's, or not a quote (compare / backsolve output)
    project = data.get("project") if isinstance(data.get("project"), str) else None
    try:
        old_total: Decimal | None = Decimal(int(data["total"]))
    except (KeyError, TypeError, ValueError):
        old_total = None
    inputs = data.get("inputs")
    if not isinstance(inputs, dict):
        return Affected(shown, "quote", project, old_total, None,
                        "再計算できません: 案件の入力がありません / cannot re-price: the quote "
                        "holds no project inputs (`inputs`; quotes written by `quote --json` "
                        "carry them)")
    try:
        p = parse_project(inputs, f"{shown} inputs")
        return Affected(shown, "quote", p.project.id, old_total, _price(p, new))
    except InputError as exc:
        return Affected(shown, "quote", project, old_total, None,
                        f"新しい料金表で計算できません / cannot be priced with the new card: "
                        f"{exc.message}")


def _workbook_file(path: Path, old: RateCard, new: RateCard, shown: str) -> Affected | None:
    from ..cells import project_from_pairs
    from ..readback import card_sha256, open_workbook, workbook_pairs

    try:
        wb = open_workbook(path)
    except InputError:
        return None  # not a workbook we can read: not a standard workbook of ours
    if card_sha256(wb) != old.sha256:
        return None
    try:
        p = project_from_pairs(workbook_pairs(wb), shown)
    except InputError as exc:
        return Affected(shown, "workbook", None, None, None,
                        f"入力を読めません / cannot read its inputs: {exc.message}")
    try:
        old_total: Decimal | None = _price(p, old)
    except InputError:
        old_total = None
    try:
        return Affected(shown, "workbook", p.project.id, old_total, _price(p, new))
    except InputError as exc:
        return Affected(shown, "workbook", p.project.id, old_total, None,
                        f"新しい料金表で計算できません / cannot be priced with the new card: "
                        f"{exc.message}")


def scan(folder: str | os.PathLike[str], old: RateCard, new: RateCard) -> ScanResult:
    """The quotes and workbooks in ``folder`` (and below) made with ``old``, re-priced with
    ``new``.

    A quote is a JSON file whose ``rate_card.sha256`` is the old card's; a workbook an
    ``.xlsx``/``.xlsm`` whose defined name ``CardSha256`` holds it.  Files made with other
    cards, and files that are neither, are counted in ``other_files`` and left alone.
    Nothing is written.

    Raises:
        InputError: ``folder`` is not a folder, or holds more than 10,000 such files.
    """
    base = Path(folder)
    if not base.is_dir():
        raise InputError("--scan", str(folder), "an existing folder")
    found: list[Affected] = []
    others = 0
    for path in _files(base):
        shown = str(path.relative_to(base))
        if path.suffix.lower() == ".json":
            hit = _quote_file(path, old, new, shown)
        else:
            hit = _workbook_file(path, old, new, shown)
        if hit is None:
            others += 1
        else:
            found.append(hit)
    return ScanResult(tuple(found), others)


def change_rows(changes: list[Change]) -> list[tuple[str, str, str, str]]:
    """(path, old, new, 変更/追加/削除 kind) as text, for a table."""
    return [(c.path, show(c.old), show(c.new), " / ".join(KIND_WORDS[c.kind]))
            for c in changes]


__all__ = ["ABSENT", "Affected", "Change", "ScanResult", "change_rows", "diff_cards",
           "json_value", "scan", "show"]
