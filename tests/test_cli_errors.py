"""Bad input never crashes the CLI: exit code 2 and ONE message naming the file, the key
path, the value and what was expected (``p.toml: researchers[0].hours = -5: expected a
number >= 0``), never a traceback.

Every case starts from a shipped, valid file (``templates/rates/jp-default.toml`` or one of
``templates/projects/*.toml``), breaks one thing, and runs the CLI on it.  The cases live
in one table, ``CASES``; each names the message parts it expects.  A case whose message
falls short of the contract may be marked a strict ``xfail`` whose reason says what is
wrong, so it flips to XPASS (and fails) once fixed; none is marked today.
"""

from __future__ import annotations

import copy
import json
import os
import re
import subprocess
import sys
import tomllib
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any, Callable

import pytest
from typer.testing import CliRunner

from xl_pricing.cli import app

ROOT = Path(__file__).resolve().parent.parent
CARD_TEMPLATE = ROOT / "templates" / "rates" / "jp-default.toml"
PROJECTS = ROOT / "templates" / "projects"
X_PROJECT = PROJECTS / "x-cost-joint.toml"

BAD_CARD = "bad-card.toml"
BAD_PROJECT = "bad-project.toml"

# Environment the CLI must not pick up from the developer's shell.
CLEAN_ENV: dict[str, str | None] = {"XL_PRICING_RATES": None, "XL_PRICING_DEBUG": None,
                                    "FORCE_COLOR": None, "NO_COLOR": "1"}

ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")


# -- a tiny dict → TOML writer (no TOML writer is installed) --------------------------------

_BARE_KEY = re.compile(r"^[A-Za-z0-9_-]+$")


def _key(k: str) -> str:
    return k if _BARE_KEY.match(k) else json.dumps(k, ensure_ascii=False)


def _value(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (int, Decimal)):
        return str(v)
    if isinstance(v, float):
        return repr(v)
    if isinstance(v, str):
        return json.dumps(v, ensure_ascii=False)  # JSON string escapes are valid TOML
    if isinstance(v, (date, datetime)):
        return v.isoformat()
    if isinstance(v, list):
        return "[" + ", ".join(_value(x) for x in v) + "]"
    if isinstance(v, dict):
        return "{ " + ", ".join(f"{_key(k)} = {_value(x)}" for k, x in v.items()) + " }"
    raise TypeError(f"cannot write {type(v).__name__} as TOML")


def _is_table_array(v: Any) -> bool:
    return isinstance(v, list) and bool(v) and all(isinstance(x, dict) for x in v)


def to_toml(data: dict[str, Any]) -> str:
    """Serialise parsed TOML (tables, arrays of tables, scalars) back to TOML text."""
    out: list[str] = []

    def emit(table: dict[str, Any], prefix: str) -> None:
        for k, v in table.items():
            if not isinstance(v, dict) and not _is_table_array(v):
                out.append(f"{_key(k)} = {_value(v)}")
        for k, v in table.items():
            name = prefix + _key(k)
            if isinstance(v, dict):
                out.append(f"\n[{name}]")
                emit(v, name + ".")
            elif _is_table_array(v):
                for item in v:
                    out.append(f"\n[[{name}]]")
                    emit(item, name + ".")

    emit(data, "")
    return "\n".join(out) + "\n"


def load_toml(path: Path) -> dict[str, Any]:
    return tomllib.loads(path.read_text(encoding="utf-8"), parse_float=Decimal)


# -- editing parsed documents by key path ---------------------------------------------------

_PART = re.compile(r"([^.\[\]]+)|\[(\d+)\]")


def _parts(path: str) -> list[str | int]:
    return [int(i) if i else n for n, i in _PART.findall(path)]


def _parent(doc: Any, path: str) -> tuple[Any, str | int]:
    parts = _parts(path)
    for p in parts[:-1]:
        doc = doc[p]
    return doc, parts[-1]


Edit = Callable[[dict[str, Any]], None]


def put(path: str, value: Any) -> Edit:
    """Set ``path`` (``time_charge.day_rates[1].max``) to ``value``, creating it if new."""
    def edit(doc: dict[str, Any]) -> None:
        parent, last = _parent(doc, path)
        parent[last] = value
    return edit


def drop(path: str) -> Edit:
    """Remove the key (or list item) at ``path``."""
    def edit(doc: dict[str, Any]) -> None:
        parent, last = _parent(doc, path)
        del parent[last]
    return edit


def keep_only(path: str, pred: Callable[[Any], bool]) -> Edit:
    """Keep only the items of the list at ``path`` for which ``pred`` holds."""
    def edit(doc: dict[str, Any]) -> None:
        parent, last = _parent(doc, path)
        parent[last] = [x for x in parent[last] if pred(x)]
    return edit


def edited(template: Path, *edits: Edit) -> dict[str, Any]:
    doc = copy.deepcopy(load_toml(template))
    for e in edits:
        e(doc)
    return doc


# -- building one case's files and command line ---------------------------------------------

Build = Callable[[Path], list[str]]


def card_file(tmp: Path, *edits: Edit, name: str = BAD_CARD) -> Path:
    path = tmp / name
    path.write_text(to_toml(edited(CARD_TEMPLATE, *edits)), encoding="utf-8")
    return path


def project_file(tmp: Path, template: str, *edits: Edit, name: str = BAD_PROJECT) -> Path:
    path = tmp / name
    path.write_text(to_toml(edited(PROJECTS / template, *edits)), encoding="utf-8")
    return path


def bad_card(*edits: Edit, cmd: str = "check") -> Build:
    """A card from jp-default with ``edits``, run through ``rates check`` or ``quote``."""
    def build(tmp: Path) -> list[str]:
        card = card_file(tmp, *edits)
        if cmd == "check":
            return ["rates", "check", str(card)]
        return [cmd, str(X_PROJECT), "--rates", str(card)]
    return build


def bad_project(template: str, *edits: Edit, cmd: str = "quote") -> Build:
    """A project from ``template`` with ``edits``, run through ``quote`` (priced with the
    default card) or ``project check``."""
    def build(tmp: Path) -> list[str]:
        proj = project_file(tmp, template, *edits)
        if cmd == "check":
            return ["project", "check", str(proj)]
        return [cmd, str(proj)]
    return build


def replace_once(text: str, old: str, new: str) -> str:
    assert text.count(old) == 1, f"{old!r} is not unique in the template"
    return text.replace(old, new)


def line_col(text: str, marker: str, offset: int = 0) -> str:
    """``line L, column C`` (1-based, as TOML and JSON parsers count) of ``marker`` +
    ``offset`` in ``text``: computed from the current templates, never hard-coded."""
    pos = text.index(marker) + offset
    return f"line {text.count(chr(10), 0, pos) + 1}, column {pos - text.rfind(chr(10), 0, pos)}"


def _json_default(v: Any) -> Any:
    if isinstance(v, Decimal):
        return int(v) if v == v.to_integral_value() else float(v)
    if isinstance(v, (date, datetime)):
        return v.isoformat()
    raise TypeError(type(v).__name__)


def as_json(template: Path) -> str:
    return json.dumps(load_toml(template), default=_json_default, indent=2, ensure_ascii=False)


# Broken texts, and where the parser will say the problem is.
CARD_TOML_BROKEN = replace_once(CARD_TEMPLATE.read_text(encoding="utf-8"),
                                "unit = 1\n", "unit = = 1\n")           # a doubled "="
CARD_TOML_AT = line_col(CARD_TOML_BROKEN, "unit = = 1", len("unit = "))
PROJECT_TOML_BROKEN = replace_once(X_PROJECT.read_text(encoding="utf-8"),
                                   'approach = "X"', 'approach = "X')  # unterminated string
PROJECT_TOML_AT = line_col(PROJECT_TOML_BROKEN, 'approach = "X\n', len('approach = "X'))
CARD_JSON_BROKEN = replace_once(as_json(CARD_TEMPLATE), '"rounding": {',
                                '}, "rounding": {')                      # one brace too many
CARD_JSON_AT = line_col(CARD_JSON_BROKEN, '}, "rounding": {')
PROJECT_JSON_BROKEN = replace_once(as_json(X_PROJECT), '"tax": {', '"tax": {,')  # stray comma
PROJECT_JSON_AT = line_col(PROJECT_JSON_BROKEN, '"tax": {,', len('"tax": {'))


def text_card(text: str) -> Build:
    """A card file with exactly ``text`` (for syntax errors)."""
    def build(tmp: Path) -> list[str]:
        (tmp / BAD_CARD).write_text(text, encoding="utf-8")
        return ["rates", "check", str(tmp / BAD_CARD)]
    return build


def text_project(text: str) -> Build:
    """A project file with exactly ``text`` (for syntax errors)."""
    def build(tmp: Path) -> list[str]:
        (tmp / BAD_PROJECT).write_text(text, encoding="utf-8")
        return ["quote", str(tmp / BAD_PROJECT)]
    return build


def latin1(template: Path, old: str, new: str) -> tuple[bytes, str]:
    """``template`` with ``old`` replaced by ``new`` in Latin-1, and where the first
    non-ASCII byte of ``new`` stands (where a UTF-8 decoder stops), as the message says it:
    ``line L, column C (byte 0xNN)``."""
    raw = template.read_bytes()
    needle = old.encode("utf-8")
    assert raw.count(needle) == 1
    first = next(i for i, ch in enumerate(new) if ord(ch) > 127)
    changed = raw.replace(needle, new.encode("latin-1"))
    at = raw.index(needle) + first      # the characters before it are ASCII: one byte each
    line = changed[:at].count(b"\n") + 1
    col = at - (changed[:at].rfind(b"\n") + 1) + 1
    return changed, f"line {line}, column {col} (byte 0x{ord(new[first]):02x})"


CARD_LATIN1, CARD_LATIN1_AT = latin1(CARD_TEMPLATE, 'version = "2026.1"',
                                     'version = "2026.1 révisé"')
PROJECT_LATIN1, PROJECT_LATIN1_AT = latin1(X_PROJECT, 'department = "Engineering"',
                                           'department = "Génie"')


def non_utf8_card(tmp: Path) -> list[str]:
    (tmp / BAD_CARD).write_bytes(CARD_LATIN1)
    return ["rates", "check", str(tmp / BAD_CARD)]


def non_utf8_project(tmp: Path) -> list[str]:
    (tmp / BAD_PROJECT).write_bytes(PROJECT_LATIN1)
    return ["quote", str(tmp / BAD_PROJECT)]


def json_card(tmp: Path) -> list[str]:
    path = tmp / "bad-card.json"
    path.write_text(CARD_JSON_BROKEN, encoding="utf-8")
    return ["rates", "check", str(path)]


def json_project(tmp: Path) -> list[str]:
    path = tmp / "bad-project.json"
    path.write_text(PROJECT_JSON_BROKEN, encoding="utf-8")
    return ["quote", str(path)]


def json_project_list(tmp: Path) -> list[str]:
    """A valid JSON document that is a list, not a table."""
    path = tmp / "bad-project.json"
    path.write_text("[" + as_json(X_PROJECT) + "]", encoding="utf-8")
    return ["project", "check", str(path)]


# Paths given as a user in their folder would type them (the tests run in ``tmp``) ...
def missing_card(tmp: Path) -> list[str]:
    return ["quote", str(X_PROJECT), "--rates", "no-such-card.toml"]


def directory_card(tmp: Path) -> list[str]:
    (tmp / "cards.toml").mkdir()
    return ["rates", "check", "cards.toml"]


def unknown_card_id(tmp: Path) -> list[str]:
    return ["quote", str(X_PROJECT), "--rates", "no-such-card"]


def missing_project(tmp: Path) -> list[str]:
    return ["quote", "no-such-project.toml"]


def directory_project(tmp: Path) -> list[str]:
    (tmp / "projects.toml").mkdir()
    return ["quote", "projects.toml"]


def yaml_project(tmp: Path) -> list[str]:
    (tmp / "bad-project.yaml").write_text(X_PROJECT.read_text(encoding="utf-8"),
                                          encoding="utf-8")
    return ["quote", "bad-project.yaml"]


# ... and as absolute paths in a deep folder, longer than the 80 characters at which the
# message cuts a value short.
DEEP = Path("shared-drive-of-the-research-office") / "industry-collaborations" / \
    "fiscal-2027-rate-cards-and-projects"


def missing_card_deep(tmp: Path) -> list[str]:
    (tmp / DEEP).mkdir(parents=True)
    return ["quote", str(X_PROJECT), "--rates", str(tmp / DEEP / "no-such-card.toml")]


def yaml_project_deep(tmp: Path) -> list[str]:
    (tmp / DEEP).mkdir(parents=True)
    path = tmp / DEEP / "bad-project.yaml"
    path.write_text(X_PROJECT.read_text(encoding="utf-8"), encoding="utf-8")
    return ["quote", str(path)]


def fa_rate_missing(tmp: Path) -> list[str]:
    """A card whose F&A table has research/on only; a project off campus."""
    card = card_file(tmp, keep_only("fa.rates", lambda r: (r["activity"], r["location"])
                                    == ("research", "on")), put("card.id", "on-campus-only"),
                     name="on-campus-only.toml")
    proj = project_file(tmp, "a-stacked-sponsored.toml", put("project.location", "off"))
    return ["quote", str(proj), "--rates", str(card)]


def backsolve_bad_target(tmp: Path) -> list[str]:
    """A valid project; the bad input is the command-line argument."""
    return ["backsolve", str(PROJECTS / "a-stacked-sponsored.toml"), "--target", "abc"]


def backsolve_no_researchers(tmp: Path) -> list[str]:
    proj = project_file(tmp, "x-cost-joint.toml", put("project.approach", "A"))
    return ["backsolve", str(proj), "--target", "12000000"]


# -- the cases --------------------------------------------------------------------------------

@dataclass(frozen=True)
class Case:
    """One malformed input and the message parts it must produce.

    ``file``: the file name the message must name (None for a command-line argument, whose
    name is the field).  ``value``: the value as printed (``{tmp}`` stands for the test's
    folder), or None when the message must say the field ``is missing``.  ``expected``: the
    start of the "expected ..." text.
    """

    id: str
    build: Build
    file: str | None
    field: str
    value: str | None
    expected: str
    xfail: str | None = None
    also: tuple[str, ...] = ()      # more fragments the message must contain
    forbid: tuple[str, ...] = ()    # fragments it must not contain
    joined: bool = True             # "field = value" side by side (else anywhere)


CASES: list[Case] = [
    # ---- rate cards ------------------------------------------------------------------------
    Case("card-toml-syntax", text_card(CARD_TOML_BROKEN), BAD_CARD, "TOML syntax",
         f"'Invalid value (at {CARD_TOML_AT})'", "valid TOML"),
    Case("card-json-syntax", json_card, "bad-card.json", f"JSON syntax ({CARD_JSON_AT})",
         "'Expecting property name enclosed in double quotes'", "valid JSON"),
    Case("card-file-missing", missing_card, "no-such-card.toml", "--rates",
         "'no-such-card.toml'", "an existing rate-card file"),
    Case("card-file-missing-deep-path", missing_card_deep, "no-such-card.toml", "--rates",
         "'{tmp}/" + str(DEEP) + "/no-such-card.toml'", "an existing rate-card file"),
    # A card's path is resolved to an absolute one (cut at 80 characters on a system with a
    # long temporary folder), so only its name is checked; the "file: " prefix is whole.
    Case("card-is-directory", directory_card, "cards.toml", "file", "/cards.toml",
         "a file, not a directory", joined=False),
    Case("card-not-utf8", non_utf8_card, BAD_CARD, "file", f"'{CARD_LATIN1_AT}'",
         "UTF-8 text"),
    Case("card-unknown-id", unknown_card_id, None, "--rates", "'no-such-card'",
         "a path to a .toml rate card, or a card id", also=("jp-default",)),
    Case("card-section-missing", bad_card(drop("card")), BAD_CARD, "card", None,
         "a value (this key is required)"),
    Case("card-id-invalid", bad_card(put("card.id", "JP Default!")), BAD_CARD, "card.id",
         "'JP Default!'", "an id of lowercase letters, digits, '-' and '_'",
         forbid=("expected string should", "^[a-z0-9]")),
    Case("card-effective-from-text", bad_card(put("card.effective_from", "April 2026")),
         BAD_CARD, "card.effective_from", "'April 2026'", "a date such as 2027-04-01"),
    Case("card-currency-usd", bad_card(put("card.currency", "USD")), BAD_CARD,
         "card.currency", "'USD'", "one of 'JPY'"),
    Case("card-extends-unknown", bad_card(put("card.extends", "no-such-base")), BAD_CARD,
         "card.extends", "'no-such-base'", "a path to a .toml rate card, or a card id",
         also=("jp-default",)),
    Case("card-extends-itself", bad_card(put("card.extends", BAD_CARD)), BAD_CARD,
         "card.extends", f"'{BAD_CARD}'", "a base card that does not extend this card again"),
    Case("card-extends-missing-file", bad_card(put("card.extends", "base.toml")), BAD_CARD,
         "card.extends", "'base.toml'", "an existing", also=("base.toml",)),
    Case("card-rounding-unit-7", bad_card(put("rounding.unit", 7)), BAD_CARD, "rounding.unit",
         "7", "one of 1, 10, 100 or 1000"),
    Case("card-rounding-rule-nearest", bad_card(put("rounding.rule", "nearest"), cmd="quote"),
         BAD_CARD, "rounding.rule", "'nearest'", "one of 'down', 'half_up' or 'up'"),
    Case("card-indirect-negative", bad_card(put("indirect.rate", Decimal("-0.3"))), BAD_CARD,
         "indirect.rate", "-0.3", "a number >= 0"),
    Case("card-indirect-percent", bad_card(put("indirect.rate", 30), cmd="quote"), BAD_CARD,
         "indirect.rate", "30", "a number <= 5"),
    Case("card-rate-text", bad_card(put("strategic.rate", "abc")), BAD_CARD,
         "strategic.rate", "'abc'", "a number"),
    Case("card-rate-bool", bad_card(put("tax_credit.rate", True)), BAD_CARD,
         "tax_credit.rate", "true", "a number"),
    Case("card-annual-hours-zero", bad_card(put("time_charge.annual_hours", 0)), BAD_CARD,
         "time_charge.annual_hours", "0", "a number > 0"),
    Case("card-shares-not-one", bad_card(put("allocation.shares.time_charge.researcher",
                                              Decimal("0.6"))), BAD_CARD,
         "allocation.shares.time_charge",
         "{researcher = 0.6, lab = 0.3, department = 0.1, university = 0.1}",
         "shares that add up to 1 (they add up to 1.1)"),
    Case("card-shares-no-default", bad_card(drop("allocation.shares.default")), BAD_CARD,
         "allocation.shares.default", None, "a default entry"),
    Case("card-residual-to-unknown", bad_card(put("allocation.residual_to", "dean")),
         BAD_CARD, "allocation.residual_to", "'dean'",
         "one of 'researcher', 'lab', 'department', 'university' or 'reserve'"),
    Case("card-rank-no-rate", bad_card(drop("time_charge.ranks.lecturer.hourly"),
                                       drop("time_charge.ranks.lecturer.salary")),
         BAD_CARD, "time_charge.ranks.lecturer.hourly", None,
         "an hourly rate or an annual salary for the rank"),
    Case("card-no-ranks", bad_card(put("time_charge.ranks", {})), BAD_CARD,
         "time_charge.ranks", "{}", "at least one rank"),
    Case("card-day-rate-no-fx", bad_card(put("time_charge.day_rates[0].currency", "USD")),
         BAD_CARD, "time_charge.exchange_rates.USD", None,
         "an exchange rate (JPY per USD) for day rate 'cambridge-professor'"),
    Case("card-day-rate-max-below-min", bad_card(put("time_charge.day_rates[1].max", 500)),
         BAD_CARD, "time_charge.day_rates[1].max", "500", "a day rate >= min (600)"),
    Case("card-day-rate-duplicate-id", bad_card(put("time_charge.day_rates[1].id",
                                                    "cambridge-professor")),
         BAD_CARD, "time_charge.day_rates[1].id", "'cambridge-professor'", "a unique id",
         forbid=("['",)),
    Case("card-fa-components", bad_card(put("fa.rates[0].components",
                                            {"facilities": Decimal("0.2"),
                                             "administration": Decimal("0.05")})),
         BAD_CARD, "fa.rates[0].components", "{facilities = 0.2, administration = 0.05}",
         "parts that add up to the rate 0.30 (got facilities 0.2 + administration 0.05)"),
    Case("card-fa-activity-unknown", bad_card(put("fa.rates[2].activity", "teaching")),
         BAD_CARD, "fa.rates[2].activity", "'teaching'",
         "one of 'research', 'instruction' or 'other'"),
    Case("card-option-fixed-no-amount", bad_card(drop("options.know_how.amount")), BAD_CARD,
         "options.know_how.amount", None, "an amount (yen) for a fixed-price option"),
    Case("card-unknown-key", bad_card(drop("time_charge.escalation"),
                                      put("time_charge.escalaton", Decimal("0.0"))),
         BAD_CARD, "time_charge.escalaton", "0.0", "no such key (check the spelling)"),
    Case("card-tax-credit-rate-missing", bad_card(drop("tax_credit.rate")), BAD_CARD,
         "tax_credit.rate", None, "a value (this key is required)"),
    Case("card-scenario-weights", bad_card(put("outcome.scenario_weights.high",
                                               Decimal("0.5"))), BAD_CARD,
         "outcome.scenario_weights", "{low = 0.25, base = 0.5, high = 0.5}",
         "weights that add up to 1 (they add up to 1.25)"),
    Case("card-consumption-tax-contract", bad_card(put("consumption_tax.applies_to",
                                                       ["sponsored", "gift"])),
         BAD_CARD, "consumption_tax.applies_to[1]", "'gift'",
         "one of 'joint', 'sponsored' or 'consulting'"),

    # ---- project files -----------------------------------------------------------------------
    Case("project-toml-syntax", text_project(PROJECT_TOML_BROKEN), BAD_PROJECT,
         "TOML syntax", "Illegal character '\\n'", "valid TOML", joined=False,
         also=(PROJECT_TOML_AT,), forbid=("\\\\n",)),
    Case("project-json-syntax", json_project, "bad-project.json",
         f"JSON syntax ({PROJECT_JSON_AT})",
         "'Expecting property name enclosed in double quotes'", "valid JSON"),
    Case("project-json-not-table", json_project_list, "bad-project.json", "(top level)",
         "'list'", "a table of keys"),
    Case("project-file-missing", missing_project, "no-such-project.toml", "file",
         "'no-such-project.toml'", "an existing file"),
    Case("project-is-directory", directory_project, "projects.toml", "file",
         "'projects.toml'", "a file, not a directory"),
    Case("project-not-utf8", non_utf8_project, BAD_PROJECT, "file",
         f"'{PROJECT_LATIN1_AT}'", "UTF-8 text"),
    Case("project-wrong-extension", yaml_project, "bad-project.yaml", "file",
         "'bad-project.yaml'", "a project file ending in .toml or .json"),
    Case("project-wrong-extension-deep-path", yaml_project_deep, "bad-project.yaml", "file",
         "'{tmp}/" + str(DEEP) + "/bad-project.yaml'", "a project file ending in .toml or .json"),
    Case("project-unknown-top-level-key",
         bad_project("x-cost-joint.toml", put("notes", "call the company first")),
         BAD_PROJECT, "notes", "'call the company first'", "no such key (check the spelling)"),
    Case("project-contract-unknown",
         bad_project("x-cost-joint.toml", put("project.contract", "gift")),
         BAD_PROJECT, "project.contract", "'gift'",
         "one of 'joint', 'sponsored' or 'consulting'"),
    Case("project-approach-z",
         bad_project("x-cost-joint.toml", put("project.approach", "Z"), cmd="check"),
         BAD_PROJECT, "project.approach", "'Z'", "one of 'X', 'A', 'B' or 'C'"),
    Case("project-id-empty", bad_project("x-cost-joint.toml", put("project.id", "")),
         BAD_PROJECT, "project.id", "''", "non-empty text", also=("at least 1 character",),
         forbid=("expected string should",)),
    Case("project-start-not-date",
         bad_project("x-cost-joint.toml", put("project.start", "2027-13-01")),
         BAD_PROJECT, "project.start", "'2027-13-01'", "a date such as 2027-04-01"),
    Case("project-end-before-start",
         bad_project("x-cost-joint.toml", put("project.end", date(2027, 3, 31))),
         BAD_PROJECT, "project.end", "2027-03-31", "a date on or after start (2027-04-01)"),
    Case("project-hours-negative",
         bad_project("a-stacked-sponsored.toml", put("researchers[0].hours", -5)),
         BAD_PROJECT, "researchers[0].hours", "-5", "a number >= 0"),
    Case("project-hours-and-months",
         bad_project("a-stacked-sponsored.toml", put("researchers[1].hours", 100)),
         BAD_PROJECT, "researchers[1].hours", "100",
         "exactly one of hours, days, or months with effort (got hours and months × effort)"),
    Case("project-months-without-effort",
         bad_project("a-stacked-sponsored.toml", drop("researchers[1].effort")),
         BAD_PROJECT, "researchers[1].effort", None, "both months and effort"),
    Case("project-effort-1.5",
         bad_project("a-stacked-sponsored.toml", put("researchers[1].effort", Decimal("1.5"))),
         BAD_PROJECT, "researchers[1].effort", "1.5", "a number <= 1"),
    Case("project-no-involvement",
         bad_project("a-stacked-sponsored.toml", drop("researchers[2].hours"), cmd="check"),
         BAD_PROJECT, "researchers[2].hours", None,
         "exactly one of hours, days, or months with effort (got none)"),
    Case("project-rank-unknown",
         bad_project("a-stacked-sponsored.toml", put("researchers[0].rank", "dean")),
         BAD_PROJECT, "researchers[0].rank", "'dean'",
         "a rank of card 'jp-default': professor, associate_professor, lecturer, "
         "assistant_professor, postdoc, doctoral_student"),
    Case("project-rank-not-text",
         bad_project("a-stacked-sponsored.toml", put("researchers[0].rank", 3)),
         BAD_PROJECT, "researchers[0].rank", "3", "text"),
    Case("project-negotiated-without-hourly",
         bad_project("a-stacked-sponsored.toml", put("researchers[0].rate_source",
                                                     "negotiated")),
         BAD_PROJECT, "researchers[0].hourly", None, "a value for rate_source 'negotiated'"),
    Case("project-day-rate-unknown",
         bad_project("a-stacked-sponsored.toml", put("researchers[3].day_rate",
                                                     "harvard-professor")),
         BAD_PROJECT, "researchers[3].day_rate", "'harvard-professor'",
         "a day-rate reference of card 'jp-default': cambridge-professor, cambridge-postdoc"),
    Case("project-day-rate-bound",
         bad_project("a-stacked-sponsored.toml", put("researchers[3].day_rate_bound", "avg")),
         BAD_PROJECT, "researchers[3].day_rate_bound", "'avg'", "one of 'min' or 'max'"),
    Case("project-direct-negative",
         bad_project("x-cost-joint.toml", put("direct[0].amount", -1000)),
         BAD_PROJECT, "direct[0].amount", "-1000", "a number >= 0"),
    Case("project-direct-fractional-yen",
         bad_project("x-cost-joint.toml", put("direct[1].amount", Decimal("1.5"))),
         BAD_PROJECT, "direct[1].amount", "1.5", "a whole number of yen"),
    Case("project-direct-fiscal-year-outside",
         bad_project("x-cost-joint.toml", put("direct[2].fiscal_year", 2030)),
         BAD_PROJECT, "direct[2].fiscal_year", "2030",
         "a fiscal year of the project period [2027]"),
    Case("project-contribution-kind",
         bad_project("a-stacked-sponsored.toml", put("contributions[0].kind", "money")),
         BAD_PROJECT, "contributions[0].kind", "'money'",
         "one of 'researcher_hours' or 'equipment'"),
    Case("project-options-not-list",
         bad_project("a-stacked-sponsored.toml", put("options", "know_how")),
         BAD_PROJECT, "options", "'know_how'", "a list [ ... ]"),
    Case("project-option-unknown",
         bad_project("a-stacked-sponsored.toml", put("options", ["ip_co_ownership",
                                                                 "gold_plating"])),
         BAD_PROJECT, "options[1]", "'gold_plating'",
         "an option of card 'jp-default': ip_co_ownership, know_how, data_provision"),
    Case("project-tax-use-credit",
         bad_project("x-cost-joint.toml", put("tax.use_credit", "maybe")),
         BAD_PROJECT, "tax.use_credit", "'maybe'", "true or false"),
    Case("project-b-without-total", bad_project("b-total-package.toml", drop("total")),
         BAD_PROJECT, "total", None, "a [total] table with agreed = ... for approach B"),
    Case("project-b-total-below-direct",
         bad_project("b-total-package.toml", put("total.agreed", 4_000_000),
                     drop("total.allocations")),
         BAD_PROJECT, "total.agreed", "4000000",
         "an agreed total >= direct costs (5,000,000 yen)"),
    Case("project-b-allocations-exceed",
         bad_project("b-total-package.toml", put("total.allocations[1].amount", 7_000_000)),
         BAD_PROJECT, "total.allocations[1].amount", "7000000",
         "at most the remaining 6,000,000 yen of the package"),
    Case("project-c-without-outcome", bad_project("c-outcome-royalty.toml", drop("outcome")),
         BAD_PROJECT, "outcome", None, "an [outcome] table for approach C"),
    Case("project-c-sales-low-above-base",
         bad_project("c-outcome-royalty.toml", put("outcome.sales[0].low", 150_000_000)),
         BAD_PROJECT, "outcome.sales[0].low", "150000000",
         "low <= base <= high (got 150000000, 100000000, 200000000)"),
    Case("project-c-royalty-above-1",
         bad_project("c-outcome-royalty.toml", put("outcome.royalty_rate", 2)),
         BAD_PROJECT, "outcome.royalty_rate", "2", "a number <= 1"),
    Case("project-fa-rate-missing", fa_rate_missing, BAD_PROJECT, "project.location",
         "'off'", "an F&A rate for research/off in card 'on-campus-only' in force on "
         "2027-04-01 (it has: research/on)"),
    Case("backsolve-target-text", backsolve_bad_target, None, "--target", "'abc'",
         "a total in yen, such as 12000000"),
    Case("backsolve-no-researchers", backsolve_no_researchers, BAD_PROJECT, "researchers",
         "[]", "at least one researcher whose rate can be solved"),
]


def _param(case: Case) -> Any:
    marks = [pytest.mark.xfail(strict=True, reason=case.xfail)] if case.xfail else []
    return pytest.param(case, id=case.id, marks=marks)


def test_case_table_is_big_and_balanced() -> None:
    ids = [c.id for c in CASES]
    assert len(ids) == len(set(ids)), "case ids must be unique"
    cards = sum(c.id.startswith("card-") for c in CASES)
    projects = len(CASES) - cards
    assert len(CASES) >= 45
    assert cards >= 20 and projects >= 20
    assert set(END_TO_END) <= set(ids) and len(END_TO_END) >= 3
    assert not any(c.xfail for c in CASES if c.id in END_TO_END)


# -- checking a message -----------------------------------------------------------------------

def expected_parts(case: Case, tmp: Path) -> list[str]:
    """The fragments the one-line message must contain, in any order."""
    value = None if case.value is None else case.value.replace("{tmp}", str(tmp))
    if value is None:
        parts = [f"{case.field} is missing"]
    elif case.joined:
        parts = [f"{case.field} = {value}"]
    else:
        parts = [case.field, value]
    parts.append(f": expected {case.expected}")
    if case.file is not None:
        parts.append(case.file)
    return parts + [p.replace("{tmp}", str(tmp)) for p in case.also]


def check_message(case: Case, tmp: Path, code: int, stdout: str, stderr: str) -> None:
    stderr = ANSI.sub("", stderr)
    assert "Traceback" not in stdout + stderr
    assert code == 2, f"exit code {code}; stderr: {stderr!r}"
    lines = [ln for ln in stderr.splitlines() if ln.strip()]
    assert len(lines) == 1, f"expected ONE message line, got {lines!r}"
    message = lines[0]
    assert message.startswith("error: "), message
    for part in expected_parts(case, tmp):
        assert part in message, f"{part!r} not in {message!r}"
    for part in case.forbid:
        assert part not in message, f"{part!r} in {message!r}"


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner(env=CLEAN_ENV)


@pytest.mark.parametrize("case", [_param(c) for c in CASES])
def test_bad_input_gives_one_clear_message(case: Case, tmp_path: Path,
                                           runner: CliRunner,
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    args = case.build(tmp_path)
    result = runner.invoke(app, args)
    # An exception escaping the command would be swallowed by the runner: make it visible.
    assert result.exception is None or isinstance(result.exception, SystemExit), \
        repr(result.exception)
    assert "Traceback" not in result.output
    check_message(case, tmp_path, result.exit_code, result.stdout, result.stderr)


# -- end to end: a real process ---------------------------------------------------------------

END_TO_END = ["card-indirect-percent", "project-hours-negative", "project-json-syntax",
              "card-file-missing", "backsolve-target-text"]


@pytest.mark.parametrize("case", [_param(c) for c in CASES if c.id in END_TO_END])
def test_bad_input_in_a_real_process(case: Case, tmp_path: Path) -> None:
    args = case.build(tmp_path)
    env = {k: v for k, v in os.environ.items() if k not in CLEAN_ENV}
    env["NO_COLOR"] = "1"
    env["PYTHONIOENCODING"] = "utf-8"
    proc = subprocess.run([sys.executable, "-m", "xl_pricing.cli", *args], cwd=tmp_path,
                          env=env, capture_output=True, text=True, encoding="utf-8",
                          timeout=120)
    check_message(case, tmp_path, proc.returncode, proc.stdout, proc.stderr)


def test_the_templates_themselves_are_valid(tmp_path: Path, runner: CliRunner) -> None:
    """The writer round-trips: an unedited card and project pass, so each case's failure
    comes from its one edit."""
    card = card_file(tmp_path, name="card.toml")
    proj = project_file(tmp_path, "a-stacked-sponsored.toml", name="proj.toml")
    result = runner.invoke(app, ["quote", str(proj), "--rates", str(card)])
    assert result.exit_code == 0, result.output
    for template in sorted(PROJECTS.glob("*.toml")):
        copy_ = project_file(tmp_path, template.name, name=f"copy-{template.name}")
        result = runner.invoke(app, ["quote", str(copy_), "--rates", str(card)])
        assert result.exit_code == 0, (template.name, result.output)
