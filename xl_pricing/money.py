"""Yen amounts: Decimal arithmetic and the rate card's rounding rule.

Money is always :class:`decimal.Decimal` whole yen (or a multiple of the rounding unit).
Amounts are computed exactly and rounded once, where a quote line is formed.
"""

from __future__ import annotations

import decimal
from dataclasses import dataclass
from decimal import ROUND_DOWN, ROUND_HALF_UP, ROUND_UP, Decimal
from typing import Iterable, Literal

RoundingRule = Literal["down", "half_up", "up"]

# Exact intermediate arithmetic: 50 significant digits is far beyond any yen amount times
# any rate, so nothing is lost before the single rounding step.
CONTEXT = decimal.Context(prec=50, rounding=decimal.ROUND_HALF_EVEN)

# The same three modes as Excel's ROUNDDOWN, ROUND and ROUNDUP: symmetric about zero, so a
# native-formula workbook rounds exactly as the engine does.
_MODES = {"down": ROUND_DOWN, "half_up": ROUND_HALF_UP, "up": ROUND_UP}
ZERO = Decimal(0)
_ONE = Decimal(1)


def D(value: object) -> Decimal:
    """Convert a number (int, str, Decimal or float via its shortest repr) to Decimal.

    Floats are taken by their decimal repr (``0.547`` → ``Decimal('0.547')``), never their
    binary expansion, because rates typed by people are decimal fractions.

    >>> D(0.547)
    Decimal('0.547')
    """
    if isinstance(value, Decimal):
        return value
    if isinstance(value, bool):
        raise TypeError("a boolean is not a number")
    if isinstance(value, float):
        return Decimal(repr(value))
    return Decimal(value)  # type: ignore[arg-type]


@dataclass(frozen=True)
class Rounding:
    """How a rate card rounds money.

    Attributes:
        rule: ``down`` (切り捨て, toward zero, Excel ROUNDDOWN), ``half_up`` (四捨五入, half
            away from zero, Excel ROUND) or ``up`` (切り上げ, away from zero, Excel ROUNDUP).
        unit: rounding unit in yen: 1, 10, 100 or 1,000.

    Example:
        >>> Rounding("down", 1000).apply(Decimal("1234567.9"))
        Decimal('1234000')
    """

    rule: RoundingRule = "down"
    unit: int = 1

    def apply(self, amount: Decimal) -> Decimal:
        """Round ``amount`` (yen) to a multiple of ``unit`` by ``rule``."""
        if self.unit == 1:  # the common case, and the hot one when pricing whole tables
            return amount.quantize(_ONE, rounding=_MODES[self.rule], context=CONTEXT)
        unit = Decimal(self.unit)
        q = CONTEXT.divide(amount, unit)
        whole = q.quantize(_ONE, rounding=_MODES[self.rule])
        return CONTEXT.multiply(whole, unit).quantize(_ONE)

    def describe(self) -> str:
        names = {"down": "rounded down", "half_up": "rounded half up", "up": "rounded up"}
        return f"{names[self.rule]} to {self.unit:,} yen"


def total(amounts: Iterable[Decimal]) -> Decimal:
    """Exact sum of yen amounts (Decimal, no rounding)."""
    return sum(amounts, ZERO)


def mul(*factors: Decimal) -> Decimal:
    """Exact product (50 significant digits) of Decimals."""
    out = Decimal(1)
    for f in factors:
        out = CONTEXT.multiply(out, f)
    return out


def div(a: Decimal, b: Decimal) -> Decimal:
    """Division at 50 significant digits (exact for all practical yen arithmetic)."""
    return CONTEXT.divide(a, b)


def yen_int(amount: Decimal) -> int:
    """A whole-yen Decimal as int (for JSON); refuses fractions so nothing is hidden."""
    if amount != amount.to_integral_value():
        raise ValueError(f"{amount} is not a whole yen amount")
    return int(amount)


def fmt_yen(amount: Decimal) -> str:
    """``Decimal('1234567')`` → ``'¥1,234,567'`` (negative as ``-¥1,234``)."""
    sign = "-" if amount < 0 else ""
    return f"{sign}¥{abs(int(amount)):,}"


def fmt_rate(rate: Decimal) -> str:
    """A fraction shown as a percentage: ``Decimal('0.547')`` → ``'54.7%'``.

    Rates are stored as fractions and only *displayed* as percentages, so 0.52 never turns
    into "0.52%".
    """
    pct = (rate * 100).normalize()
    text = f"{pct:f}"
    return f"{text}%"
