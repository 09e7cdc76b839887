"""The engine's figure for every named cell of a standard workbook, for the tests that
prove a workbook shows the engine's numbers (test_agreement, test_workbook, test_injection).

It lives with the tests: the product computes prices in the engine only; this module says
where in a workbook each of the engine's figures must appear.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from xl_pricing.pricing import quote
from xl_pricing.pricing.fiscal import direct_by_year
from xl_pricing.pricing.forms import current_form, new_form
from xl_pricing.pricing.industrial import fully_loaded
from xl_pricing.project import Project
from xl_pricing.rates import RateCard
from xl_pricing.workbook.quotes import category_slugs


def expected_lines(project: Project, card: RateCard) -> dict[str, list[Any]]:
    """The engine's lines behind each named line cell of the project's approach sheet (a
    cell may pool several lines: the direct costs of categories without a row of their own).
    """

    direct_names = category_slugs(list(direct_by_year(project)))

    q = quote(project, card)
    ap = project.project.approach
    named: dict[str, list[Any]] = {}

    def add(name: str, line: Any) -> None:
        named.setdefault(name, []).append(line)

    def build_up_names(kind: str, lines) -> list[str]:
        """Names of X or A lines on their own sheet, in the engine's line order."""
        counters: dict[str, int] = {}
        names = []
        for ln in lines:
            if ln.component == "direct":
                names.append(f"direct_{direct_names[ln.detail]}")
            elif ln.component in ("time_charge", "option"):
                counters[ln.component] = counters.get(ln.component, 0) + 1
                names.append(f"{ln.component}_{counters[ln.component]}")
            else:
                names.append(ln.component)
        return names

    if ap in ("X", "A"):
        for name, ln in zip(build_up_names(ap, q.lines), q.lines):
            add(f"{ap}_{name}", ln)
    elif ap == "B":
        book_as = project.total.book_as if project.total else None
        names = build_up_names(book_as or "B", q.lines)
        for name, ln in zip(names, q.lines):
            if ln.component in ("direct", "indirect", "value_added", "consumption_tax") \
                    or book_as is None:
                add(f"B_{name}", ln)
            else:
                add(f"B_{book_as.lower()}_{name}", ln)
    else:
        out_terms = project.outcome
        assert out_terms is not None
        achieved = {"milestone": [i + 1 for i, m in enumerate(out_terms.milestones)
                                  if m.achieved],
                    "kpi": [i + 1 for i, m in enumerate(out_terms.kpis) if m.achieved]}
        seen = {"milestone": 0, "kpi": 0}
        floor_lines = [ln for ln in q.lines if ln.source.startswith("floor (approach X)")]
        for name, ln in zip(build_up_names("X", floor_lines), floor_lines):
            add(f"C_x_{name}", ln)
        for ln in q.lines:
            if ln in floor_lines:
                continue
            if ln.component in seen:
                idx = achieved[ln.component][seen[ln.component]]
                seen[ln.component] += 1
                add(f"C_{ln.component}_{idx}", ln)
            else:
                add(f"C_{ln.component}", ln)
    return named


def expected_names(project: Project, card: RateCard) -> dict[str, Decimal]:
    """The engine's amount for each named line cell of the project's approach sheet, and
    the approach total (``<approach>_Total``) and ``Total``.

    Named line cells not listed here must be zero: they are lines the engine does not have
    for this project (a spare researcher row, no discount, no consumption tax ...).
    """
    out = {name: sum((ln.amount for ln in lines), Decimal(0))
           for name, lines in expected_lines(project, card).items()}
    total = quote(project, card).total
    out[f"{project.project.approach}_Total"] = total
    out["Total"] = total
    return out


def expected_by_year(project: Project, card: RateCard) -> dict[str, dict[int, Decimal]]:
    """The engine's amount of each named line cell per fiscal year (the line's
    ``by_year``: each year rounded once, the years adding up to the line)."""
    out: dict[str, dict[int, Decimal]] = {}
    for name, lines in expected_lines(project, card).items():
        years = out.setdefault(name, {})
        for ln in lines:
            for fy, amount in (ln.by_year or ()):
                years[fy] = years.get(fy, Decimal(0)) + amount
    return out


def expected_views(project: Project, card: RateCard) -> dict[str, Any]:
    """The engine's figures for the sheets that follow the chosen approach: the current
    application form's boxes (``current_form``), the new form's remuneration, expenses and
    tax (``new_form``, choice A as the template sets it), the industrial view's lines
    (``fully_loaded``: ``Industrial_lines`` in order, ``Industrial_Total``), approach C's
    royalty under the low, base and high scenarios and approach B's implied indirect ratio.
    """
    q = quote(project, card)
    cf = current_form(q)
    nf = new_form(q, "A", project.tax.use_credit)
    out: dict[str, Any] = {f"Form_{box.capitalize()}": amount
                           for box, amount in cf.boxes.items()}
    out["Form_Total"] = cf.total
    out["NewForm_Remuneration"] = nf.remuneration
    out["NewForm_Tax"] = nf.tax
    out["NewForm_Total"] = nf.total
    out["Industrial_lines"] = [amount for _, amount in fully_loaded(q)]
    out["Industrial_Total"] = q.total
    scenarios = q.extras.get("scenarios")
    if scenarios:
        for case in ("low", "base", "high"):
            out[f"C_Royalty_{case}"] = Decimal(scenarios[case]["royalty"])
    ratio = q.extras.get("implied_indirect_ratio")
    if ratio is not None:
        out["B_Ratio"] = Decimal(str(ratio))
    return out
