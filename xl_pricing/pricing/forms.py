"""Application forms (共同研究申込書): a quote's lines mapped to the form's boxes.

Current form (fig. 10, old): ① 直接経費 ② 学術貢献費 ③ 間接経費 ④ 戦略的産学連携経費, 合計.
New form for the total method: (1) 報酬 (remuneration) with [A] remuneration includes the
expenses or [B] it does not, (2) 経費の負担 (expenses borne, filled only for [B]), and a check
box for the company's intent to use the R&D tax credit.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Literal

from ..money import ZERO
from .quote import Quote

# Which box of the current form each price component goes to.  The knowledge-related parts
# (time charge, value added, options, success fees) are the "academic contribution";
# overheads are indirect; a contribution discount reduces the academic contribution.
CURRENT_FORM_BOX: dict[str, str] = {
    "direct": "direct", "floor": "direct",
    "time_charge": "academic", "value_added": "academic", "option": "academic",
    "lump_sum": "academic", "milestone": "academic", "kpi": "academic", "royalty": "academic",
    "discount": "academic",
    "indirect": "indirect", "fa": "indirect",
    "strategic": "strategic",
    "consumption_tax": "tax",
}
BOX_LABELS = {"direct": ("① 直接経費", "Direct costs"),
              "academic": ("② 学術貢献費", "Academic contribution"),
              "indirect": ("③ 間接経費", "Indirect costs"),
              "strategic": ("④ 戦略的産学連携経費", "Strategic collaboration expense"),
              "tax": ("消費税", "Consumption tax")}
# The new form's boxes (NewForm's fields), as the form prints them.
NEW_BOX_LABELS = {"remuneration": ("(1) 報酬", "Remuneration"),
                  "expenses": ("(2) 経費の負担", "Expenses borne"),
                  "tax": ("消費税", "Consumption tax"),
                  "total": ("合計", "Total")}


@dataclass(frozen=True)
class CurrentForm:
    boxes: dict[str, Decimal]

    @property
    def total(self) -> Decimal:
        return sum(self.boxes.values(), ZERO)


def current_form(q: Quote) -> CurrentForm:
    """The quote in the current form's four boxes (plus consumption tax); the boxes add up
    to the quote's total.

    Example: approach X, 5,000,000 direct on jp-default → ① 5,000,000, ③ 1,500,000,
    ④ 500,000, total 7,000,000.
    """
    boxes = {b: ZERO for b in BOX_LABELS}
    for ln in q.lines:
        boxes[CURRENT_FORM_BOX[ln.component]] += ln.amount
    return CurrentForm(boxes)


@dataclass(frozen=True)
class NewForm:
    choice: Literal["A", "B"]
    remuneration: Decimal
    expenses: Decimal | None
    tax: Decimal
    uses_tax_credit: bool

    @property
    def total(self) -> Decimal:
        return self.remuneration + (self.expenses or ZERO) + self.tax


def new_form(q: Quote, choice: Literal["A", "B"] = "A", uses_tax_credit: bool = False
             ) -> NewForm:
    """The quote in the new form: [A] remuneration includes the expenses (one amount), or
    [B] remuneration excludes them and (2) shows the expenses borne (the direct costs).
    Consumption tax stays apart.  Remuneration + expenses + tax = the quote's total."""
    tax = q.amount_of("consumption_tax")
    pre_tax = q.total - tax
    if choice == "A":
        return NewForm("A", pre_tax, None, tax, uses_tax_credit)
    expenses = q.amount_of("direct")
    return NewForm("B", pre_tax - expenses, expenses, tax, uses_tax_credit)
