"""Native formulas for MTDC subawards (issue 16 item 2): a subaward's items sharing an id
count up to the card's threshold once over the whole award, and the award date chooses
the threshold — each item's part of the F&A base on the Project sheet, proven equal to
the engine (``pricing.stacked.mtdc``, ``subaward_threshold``).

Mirrors the engine exactly:

* **award date** (``project.award_date``): the ``AwardDate`` input (blank = ``Start``)
  picks the latest ``fa.subaward_thresholds`` entry in force on it, else
  ``fa.subaward_included_up_to`` (``SubawardCap``, on the Rates sheet).  2 CFR 200.1: the
  first 25,000 USD of each subaward, 50,000 USD for awards from 2024-10-01 (Harvard's
  card: 3,750,000 and 7,500,000 yen).
* **subaward id** (``direct.N.subaward``, the Direct table's ``Direct_Subaward`` column):
  items with the same id are one subaward; each counts
  MIN(amount, MAX(0, threshold − Σ amounts of the same id's items in earlier fiscal
  years or earlier rows of the same year)) — the engine's running ``used`` total, as
  Σ min(amount, what is left) of the earlier items is MIN(threshold, Σ their amounts).
  An item without an id is a subaward of its own.  Example (threshold 7,500,000):
  "S1" 5,000,000 in FY2025 and 5,000,000 in FY2026 count 5,000,000 and 2,500,000.

Both only on cards whose F&A base is ``mtdc``; other cards have neither input.
"""

from __future__ import annotations

from typing import Callable

from ..rates import RateCard
from .book import Book
from .checks import rule

# What a subaward id is (``project.DirectItem.subaward``).
ID_LENGTH = 80


def has_subawards(card: RateCard) -> bool:
    """Whether the card's workbooks have the award date and subaward-id inputs: its F&A
    base is MTDC (``fa.base = "mtdc"``).

    >>> from xl_pricing import load_card
    >>> has_subawards(load_card("harvard")), has_subawards(load_card("kyoto"))
    (True, False)
    """
    return card.model.fa.base == "mtdc"


def priced_rules(card: RateCard) -> set[str]:
    """The keys of ``pricing.stacked.costing_features`` these formulas price for ``card``:
    ``direct.subaward`` and ``project.award_date`` on an MTDC card."""
    return {"direct.subaward", "project.award_date"} if has_subawards(card) else set()


def award_on() -> str:
    """Excel: the date the award was made (``pricing.stacked.award_date``): ``AwardDate``,
    blank = ``Start``."""
    return 'IF(AwardDate="",Start,AwardDate)'


def award_date_input(book: Book, scalar: Callable[..., str]) -> None:
    """The Project sheet's ``AwardDate`` (交付決定日, blank = the start date) with its check
    (``project.award_date``: a date), on an MTDC card only.  ``scalar`` is the sheet's writer
    of one labelled input."""
    if not has_subawards(book.card):
        return
    got = book.project.project.award_date
    scalar("交付決定日（空欄=開始日）/ Award date (blank = start)", "AwardDate", got,
           "xlp_input_date", rules=[rule('AND(AwardDate<>"",NOT(ISNUMBER(AwardDate)))',
                                         "project.award_date", "a date such as 2024-10-01")])


def subaward_rules(row: int, field: str) -> list[tuple[str, str]]:
    """The checks of a Direct row's subaward id (column G): text of at most 80 characters,
    only on an item of category ``subaward`` (``project.DirectItem``).  ``field`` is the
    row's key (``direct[0]``)."""
    g = f"G{row}"
    return [rule(f'AND({g}<>"",OR(ISNUMBER({g}),ISLOGICAL({g}),LEN({g})>{ID_LENGTH}))',
                 f"{field}.subaward", f"text of at most {ID_LENGTH} characters (an id such "
                 "as S1)"),
            rule(f'AND({g}<>"",NOT(EXACT(A{row},"subaward")))', f"{field}.subaward",
                 "only on an item of category 'subaward' (a subaward id groups the items "
                 "of one subaward)")]


def counted(row: int, top: int, last: int) -> str:
    """Excel: the part of the subaward item in ``row`` (Direct rows ``top``–``last``:
    A category, C fiscal year, D amount, G id) counted in MTDC — up to what its id has
    left of ``SubawardCap`` after the same id's items of earlier fiscal years and of
    earlier rows in its own year (``pricing.stacked.mtdc``'s order); blank cap: in full.

    >>> counted(11, 10, 12)[:60]
    'IF(SubawardCap="",D11,MIN(D11,MAX(0,SubawardCap-IF(G11="",0,'
    """
    parts = []
    if row > top:    # earlier rows: the same or an earlier year
        parts.append(f'SUMPRODUCT(EXACT($G${top}:G{row - 1},G{row})*'
                     f'EXACT($A${top}:A{row - 1},"subaward")*($C${top}:C{row - 1}<=C{row}),'
                     f'$D${top}:D{row - 1})')
    if row < last:   # later rows: an earlier year only
        parts.append(f'SUMPRODUCT(EXACT(G{row + 1}:$G${last},G{row})*'
                     f'EXACT(A{row + 1}:$A${last},"subaward")*(C{row + 1}:$C${last}<C{row}),'
                     f'D{row + 1}:$D${last})')
    earlier = "+".join(parts) or "0"
    return (f'IF(SubawardCap="",D{row},MIN(D{row},MAX(0,SubawardCap-'
            f'IF(G{row}="",0,{earlier}))))')
