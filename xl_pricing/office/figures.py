"""Output keys of an office map → the engine's figures (no math here: pricing functions).

Keys:

- ``total``, ``pre_tax_total``: the quote's total (with, without consumption tax);
- ``lines.<component>``: the sum of the quote's lines of one component (``direct``,
  ``time_charge``, ``indirect``, ``fa``, ``strategic``, ``consumption_tax`` ...: the keys of
  :data:`xl_pricing.pricing.quote.LABELS`), zero when the quote has none;
- ``form.<box>``: a box of the current application form (:func:`pricing.forms.current_form`:
  ``direct``, ``academic``, ``indirect``, ``strategic``, ``tax``, ``total``);
- ``form_new.<box>``: the new form (:func:`pricing.forms.new_form`: ``remuneration``,
  ``expenses``, ``tax``, ``total``) with the map's choice [A] or [B];
- ``mtdc``: modified total direct costs (:func:`pricing.stacked.mtdc`, all years); ``fa``:
  the F&A line (as ``lines.fa``).

Example: approach X, 5,000,000 direct on jp-default → ``lines.indirect`` 1,500,000,
``form.strategic`` 500,000, ``total`` 7,000,000.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Iterable, Literal

from ..money import ZERO
from ..pricing import quote
from ..pricing.forms import BOX_LABELS, NEW_BOX_LABELS, current_form, new_form
from ..pricing.quote import LABELS, Quote
from ..pricing.stacked import mtdc
from ..project import Project
from ..rates import RateCard
from ..vocabulary import FIGURES

NEW_FORM_BOXES = tuple(NEW_BOX_LABELS)
SIMPLE_KEYS = ("total", "pre_tax_total", "mtdc", "fa")
OUTPUT_KEYS: tuple[str, ...] = (
    *SIMPLE_KEYS, *(f"lines.{c}" for c in LABELS),
    *(f"form.{b}" for b in (*BOX_LABELS, "total")),
    *(f"form_new.{b}" for b in NEW_FORM_BOXES))


def is_output_key(key: str) -> bool:
    """``True`` for a key :func:`engine_figures` knows.

    >>> is_output_key("lines.fa"), is_output_key("form.academic"), is_output_key("lines.x")
    (True, True, False)
    """
    return key in OUTPUT_KEYS


def output_label(key: str) -> tuple[str, str]:
    """The Japanese and English names of an output key.

    >>> output_label("lines.fa"), output_label("form.indirect")
    (('F&A（施設・管理経費）', 'F&A costs'), ('③ 間接経費', 'Indirect costs'))
    >>> output_label("mtdc")[1]
    'Modified total direct costs'
    """
    kind, _, part = key.partition(".")
    if kind == "lines":
        return LABELS[part]
    if kind == "form":
        return FIGURES["total"] if part == "total" else BOX_LABELS[part]
    if kind == "form_new":
        return NEW_BOX_LABELS[part]
    return LABELS["fa"] if key == "fa" else FIGURES[key]


def _figure(key: str, q: Quote, project: Project, card: RateCard,
            choice: Literal["A", "B"]) -> Decimal:
    kind, _, part = key.partition(".")
    if key == "total":
        return q.total
    if key == "pre_tax_total":
        return q.pre_tax_total()
    if key == "fa":
        return q.amount_of("fa")
    if key == "mtdc":
        return sum(mtdc(project, card).values(), ZERO)
    if kind == "lines":
        return q.amount_of(part)
    if kind == "form":
        form = current_form(q)
        return form.total if part == "total" else form.boxes[part]
    nf = new_form(q, choice, project.tax.use_credit)
    return {"remuneration": nf.remuneration, "expenses": nf.expenses or ZERO,
            "tax": nf.tax, "total": nf.total}[part]


def engine_figures(keys: Iterable[str], project: Project, card: RateCard,
                   new_form_choice: Literal["A", "B"] = "A") -> dict[str, Decimal]:
    """The engine's figure (yen) for each output key, from one quote of ``project``.

    Raises:
        InputError: what the engine refuses in the project (unknown rank, ...).
        KeyError: a key that is not an output key (:func:`load_map` refuses those first).
    """
    q = quote(project, card)
    out = {}
    for key in keys:
        if not is_output_key(key):
            raise KeyError(key)
        out[key] = _figure(key, q, project, card, new_form_choice)
    return out
