"""Properties over generated projects: parts add up, prices are monotonic, back-solve holds."""

from decimal import Decimal

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from xl_pricing import load_card, parse_project, quote
from xl_pricing.pricing import allocate, quote_to_dict
from xl_pricing.pricing.backsolve import backsolve_rate, with_rate

CARDS = {c: load_card(c) for c in ("jp-default", "full-features", "mit", "harvard")}
SETTINGS = settings(max_examples=60, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow])

money = st.integers(min_value=0, max_value=80_000_000)
hours = st.decimals(min_value=0, max_value=3000, places=2)


@st.composite
def researchers(draw):
    kind = draw(st.sampled_from(["rank", "salary", "consulting", "negotiated", "day_rate"]))
    r = {"name": draw(st.text("abcdef", min_size=1, max_size=6))}
    if kind == "rank":
        r.update(rank="professor")
    elif kind == "salary":
        r.update(rate_source="salary", salary=draw(st.integers(2_000_000, 20_000_000)))
    elif kind == "consulting":
        r.update(rate_source="consulting")
    elif kind == "negotiated":
        r.update(rate_source="negotiated", hourly=draw(st.integers(1, 500_000)))
    else:
        r.update(rate_source="day_rate", day_rate="cambridge-postdoc",
                 day_rate_bound=draw(st.sampled_from(["min", "max"])))
    how = draw(st.sampled_from(["hours", "effort", "days"]))
    if how == "hours":
        r["hours"] = draw(hours)
    elif how == "days":
        r["days"] = draw(st.decimals(min_value=0, max_value=200, places=1))
    else:
        r.update(months=draw(st.integers(1, 36)),
                 effort=draw(st.decimals(min_value="0.01", max_value=1, places=2)))
    return r


@st.composite
def projects(draw):
    years = draw(st.integers(1, 3))
    start_fy = 2027
    start_month = draw(st.sampled_from(['04', '07', '10']))
    card = draw(st.sampled_from(sorted(CARDS)))
    location = "on" if card == "harvard" else draw(st.sampled_from(["on", "off"]))
    data = {
        "project": {"id": "P", "contract": draw(st.sampled_from(["joint", "sponsored",
                                                                  "consulting"])),
                    "approach": draw(st.sampled_from(["X", "A"])),
                    "activity": "research", "location": location,
                    "start": f"{start_fy}-{start_month}-01",
                    "end": f"{start_fy + years}-03-31",
                    "escalation": str(draw(st.sampled_from(["0", "0.03"])))},
        "direct": [{"category": draw(st.sampled_from(["consumables", "equipment", "subaward",
                                                      "travel"])),
                    "amount": draw(money),
                    "fiscal_year": draw(st.integers(start_fy, start_fy + years - 1))}
                   for _ in range(draw(st.integers(0, 5)))],
        "researchers": draw(st.lists(researchers(), max_size=4)),
        "options": draw(st.sets(st.sampled_from(["ip_co_ownership", "know_how",
                                                 "data_provision"])).map(sorted)),
        "contributions": draw(st.sampled_from([[], [{"kind": "researcher_hours",
                                                     "hours": 50}]])),
    }
    # months × effort lie within the project period (issue 14: more is refused)
    period = 12 * years - {"04": 0, "07": 3, "10": 6}[start_month]
    for r in data["researchers"]:
        if "months" in r:
            r["months"] = min(r["months"], period)
    return parse_project(data, "generated"), CARDS[card]


@SETTINGS
@given(projects())
def test_rounded_lines_add_up_to_the_total(pc):
    project, card = pc
    q = quote(project, card)
    d = quote_to_dict(q, project, card)
    assert d["total"] == sum(line["amount"] for line in d["lines"])
    for line in d["lines"]:
        if line["by_year"]:
            assert line["amount"] == sum(line["by_year"].values())
    assert sum(d["by_year"].values()) == d["total"]
    unit = card.rounding.unit
    for ln in q.lines:
        if ln.component in ("indirect", "fa", "strategic", "time_charge"):
            assert all(a % unit == 0 for _, a in ln.by_year)


@SETTINGS
@given(projects())
def test_allocation_shares_add_up(pc):
    project, card = pc
    q = quote(project, card)
    alloc = allocate(q, card)
    assert sum(alloc.by_party.values()) == q.pre_tax_total()
    for _, amount, parts in alloc.rows:
        assert sum(parts.values()) == amount


@SETTINGS
@given(projects(), st.integers(1, 2000), st.data())
def test_price_is_monotonic_in_hours_and_rates(pc, extra, data):
    project, card = pc
    if not project.researchers or project.project.approach == "X":
        return
    i = data.draw(st.integers(0, len(project.researchers) - 1))
    r = project.researchers[i]
    base = quote(project, card).total
    if r.hours is not None:
        more = r.model_copy(update={"hours": r.hours + extra})
        rs = list(project.researchers)
        rs[i] = more
        assert quote(project.model_copy(update={"researchers": rs}), card).total >= base
    lo = quote(with_rate(project, Decimal(extra), (i + 1,)), card).total   # numbered from 1
    hi = quote(with_rate(project, Decimal(extra + 1000), (i + 1,)), card).total
    assert hi >= lo


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(projects(), st.integers(0, 60_000_000))
def test_backsolve_reproduces_the_target(pc, extra):
    project, card = pc
    if project.project.approach != "A" or not any(
            (r.hours or r.days or r.months) for r in project.researchers):
        return
    which = tuple(range(1, len(project.researchers) + 1))   # researchers numbered from 1
    floor = quote(with_rate(project, Decimal(0), which), card).total
    target = floor + extra
    res = backsolve_rate(project, card, Decimal(target))
    assert res.total <= target
    assert res.total + res.residual == target
    assert quote(with_rate(project, res.rate + 1, which), card).total > target or \
        res.residual == 0
