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
from xl_pricing.vocabulary import IP_TERMS, both
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
            elif ln.component in ("research_fee", "unit_fee"):
                names.append(fee_name(ln, card))
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


def fee_name(line: Any, card: RateCard) -> str:
    """A 研究料 or unit-fee line's name in the workbooks (workbook.fees.fee_quote_lines):
    the card's first fee of the kind ``research_fee`` / ``unit_fee``, the next ones
    ``research_fee_2`` … by their place on the card (the line's source names the fee:
    "kek: fees.research_fee: …")."""
    group = "fees" if line.component == "research_fee" else "unit_fees"
    # (a C floor's line source is prefixed "floor (approach X): ")
    name = line.source.split(f": {group}.", 1)[1].split(":", 1)[0]
    place = list(getattr(card.model, group)).index(name)
    return line.component if place == 0 else f"{line.component}_{place + 1}"


def expected_names(project: Project, card: RateCard) -> dict[str, Decimal]:
    """The engine's amount for each named line cell of the project's approach sheet, and
    the approach total (``<approach>_Total``) and ``Total``.

    Named line cells not listed here must be zero: they are lines the engine does not have
    for this project (a spare researcher row, no discount, no consumption tax ...).
    """
    out = {name: sum((ln.amount for ln in lines), Decimal(0))
           for name, lines in expected_lines(project, card).items()}
    q = quote(project, card)
    total = q.total
    out[f"{project.project.approach}_Total"] = total
    included = q.extras.get("consumption_tax_included")
    if included:   # the tax a price quoted including it contains (under the total)
        out[f"{project.project.approach}_TaxIncluded"] = Decimal(included)
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
    # the tax a price quoted including it contains (the card says; 0 otherwise)
    out["TaxIncluded"] = Decimal(q.extras.get("consumption_tax_included", 0))
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


def expected_internal(project: Project, card: RateCard) -> dict[str, Any]:
    """The engine's university-only figures (quote JSON ``internal`` and the allocation's
    internal keys) by the names of the sheets that show them (workbook/internal.py): the
    Internal sheet's ``Internal_InstituteFA``, ``Internal_AppliedFA``,
    ``Internal_UnderRecovery`` ("" without a sponsor cap on approach A, as the engine has
    no ``internal.fa``), the Allocation sheet's ``Alloc_UnderRecovery`` and
    ``Alloc_Unrecovered`` (0 when everything is repaid: the JSON then omits it)."""
    from xl_pricing.pricing.allocation import allocate

    q = quote(project, card)
    fa = q.extras.get("internal", {}).get("fa")
    out: dict[str, Any] = {
        "Internal_InstituteFA": fa["institute_fa"] if fa else "",
        "Internal_AppliedFA": fa["applied_fa"] if fa else "",
        "Internal_UnderRecovery": fa["under_recovery"] if fa else ""}
    al = allocate(q, card).to_dict()
    out["Alloc_UnderRecovery"] = al.get("under_recovery", "")
    out["Alloc_Unrecovered"] = al.get("unrecovered_costs", 0)
    return out


def typed_inputs(project: Project, rows: dict[str, int]) -> dict[str, Any]:
    """The Project-sheet inputs a person types for ``project`` into a blank template, as
    ``Recalculator.values`` (or ``recalc --set``) takes them: one value per scalar name, a
    column of ``rows[kind]`` values per table column (blank rows as ``None``).

    ``rows`` are the template's table sizes (``workbook.inputs.CAPACITY``).  Only what a
    template can take is typed: a researcher's own monthly rate (no column holds it) is
    not.
    """
    info, t, o = project.project, project.total, project.outcome

    def num(v: Any) -> Any:
        if v is None:
            return None
        return int(v) if Decimal(v) == Decimal(v).to_integral_value() else float(v)

    def column(kind: str, values: list[Any]) -> list[list[Any]]:
        assert len(values) <= rows[kind], (kind, len(values))
        return [[v] for v in values] + [[None]] * (rows[kind] - len(values))

    out: dict[str, Any] = {
        "ProjectId": info.id, "Title": info.title or None, "Contract": info.contract,
        "Approach": info.approach, "Activity": info.activity, "Location": info.location,
        "Field": info.field, "Start": info.start, "End": info.end,
        "Escalation": num(info.escalation), "UseTaxCredit": bool(project.tax.use_credit),
        "TaxPartner": project.tax.partner, "CorporateTax": num(project.tax.corporate_tax)}
    # a card's project kind and 研究料 quantities (only what the project gives: templates
    # of cards without kinds or fees have no such cells)
    if info.kind is not None:
        out["Kind"] = info.kind
    out |= {f"Qty_{name}": num(q) for name, q in project.quantities.items()}
    if info.ip_terms is not None:   # the drop-down's entry of a card with a price floor
        out["IPTerms"] = both(IP_TERMS[info.ip_terms])
    # sponsor caps and costs repaid first (workbook/internal.py: cells of cards with them)
    names = {"sponsor_type": "SponsorType", "sponsor_cap_rate": "SponsorCapRate",
             "applied_fa_rate": "AppliedFaRate", "sponsor_cap_base": "SponsorCapBase"}
    for key, name in names.items():
        v = getattr(info, key)
        if v is not None:
            out[name] = v if key == "sponsor_type" else num(v)
    if project.proceeds is not None and project.proceeds.costs:
        out["Proceeds_Costs"] = num(project.proceeds.costs)
    first = min(project.fiscal_years)
    d = project.direct
    out |= {"Direct_Category": column("direct", [x.category for x in d]),
            "Direct_Description": column("direct", [x.description or None for x in d]),
            "Direct_FY": column("direct", [x.fiscal_year or first for x in d]),
            "Direct_Amount": column("direct", [int(x.amount) for x in d])}
    if any(x.subaward is not None for x in d):   # (an MTDC card's subaward-id column)
        out["Direct_Subaward"] = column("direct", [x.subaward for x in d])
    if info.award_date is not None:   # (an MTDC card's award date)
        out["AwardDate"] = info.award_date
    rs = project.researchers
    count = [{"publications": r.publications, "citations": r.citations,
              "years": r.years}.get(r.achievement_basis or "") for r in rs]
    out |= {"R_Name": column("researchers", [r.name or None for r in rs]),
            "R_Rank": column("researchers", [r.rank for r in rs]),
            "R_Source": column("researchers", [r.rate_source for r in rs]),
            "R_Hourly": column("researchers", [num(r.hourly) for r in rs]),
            "R_Salary": column("researchers", [num(r.salary) for r in rs]),
            "R_Basis": column("researchers", [r.achievement_basis for r in rs]),
            "R_Count": column("researchers", count),
            "R_DayRate": column("researchers", [r.day_rate for r in rs]),
            "R_Bound": column("researchers", [r.day_rate_bound if r.rate_source == "day_rate"
                                              else None for r in rs]),
            "R_Hours": column("researchers", [num(r.hours) for r in rs]),
            "R_Days": column("researchers", [num(r.days) for r in rs]),
            "R_Months": column("researchers", [num(r.months) for r in rs]),
            "R_Effort": column("researchers", [num(r.effort) for r in rs])}
    out |= {"Opt_Choice": column("options", [x.name for x in project.options]),
            "Opt_Override": column("options", [num(x.amount) for x in project.options])}
    hours = sum((c.hours or 0 for c in project.contributions if c.kind == "researcher_hours"),
                Decimal(0))
    equip = sum((c.value or 0 for c in project.contributions if c.kind == "equipment"),
                Decimal(0))
    out |= {"Contrib_Hours": num(hours) or None, "Contrib_Equipment": num(equip) or None}
    allocs = t.allocations if t else []
    out |= {"B_Agreed": num(t.agreed) if t else None, "B_BookAs": t.book_as if t else None,
            "Pkg_Name": column("packages", [a.name for a in allocs]),
            "Pkg_Amount": column("packages", [int(a.amount) for a in allocs]),
            "Pkg_Date": column("packages", [a.date for a in allocs])}
    sales = o.sales if o else []
    weights = (o.scenario_weights or {}) if o else {}
    out |= {"C_AgreedFloor": num(o.floor) if o else None,
            "C_RoyaltyRate": num(o.royalty_rate) if o else None,
            "C_Contribution": num(o.contribution) if o else None,
            "C_LumpSum": num(o.lump_sum) if o else None,
            "C_WeightLow": num(weights.get("low")), "C_WeightBase": num(weights.get("base")),
            "C_WeightHigh": num(weights.get("high")),
            "Sales_FY": column("sales", [y.fiscal_year for y in sales]),
            "Sales_Low": column("sales", [int(y.low) for y in sales]),
            "Sales_Base": column("sales", [int(y.base) for y in sales]),
            "Sales_High": column("sales", [int(y.high) for y in sales])}
    for prefix, kind in (("MS", "milestones"), ("KPI", "kpis")):
        items = getattr(o, kind) if o else []
        out |= {f"{prefix}_Name": column(kind, [m.name for m in items]),
                f"{prefix}_Amount": column(kind, [int(m.amount) for m in items]),
                f"{prefix}_Achieved": column(kind, [bool(m.achieved) for m in items])}
    return out
