"""How sure a command's answer is, from the scenario's stored runs: the line `repm risk`, `repm
finance`, `repm stockpile` and `repm plan` end with (as `repm explain` ends with what an
indicator hangs on). The answer itself is one path at the facts' central values; the stored `repm
voi` run of the same decision says how it moves over the facts' ranges, the stored `repm
sensitivity` run which facts move it. Nothing stored: the line says what to run."""

from __future__ import annotations

from repm.reports.hangs.sensitivity import drivers_text, read_indices
from repm.reports.hangs.stored import Stored, stored_runs


def _voi(decision: str, scenario: str, scenario_hash: str, **same) -> Stored | None:
    """The latest stored `repm voi DECISION` run of the scenario whose options `same` match."""
    for s in stored_runs("voi", scenario, scenario_hash):
        if s.meta.get("decision") == decision and all(s.meta.get(k) == v for k, v in same.items()):
            return s
    return None


def _where(s: Stored) -> str:
    return f"run {s.run_id}" + ("" if s.same_settings else ", a run with other settings")


def _turns_on(m: dict) -> str:
    """The facts and topics a stored voi run found worth more to know than chance."""
    rows = m.get("above_chance") or []
    if not rows:
        return ""
    return "; it turns on " + ", ".join(
        f"{r['fact']}{' (topic)' if r['kind'] == 'group' else ''} (₹{r['value']:,.1f} crore, "
        f"chance {r['floor']:,.1f})" for r in rows
    )  # fmt: skip


def _span(q: dict, fmt: str) -> str:
    return f"P50 {q['p50']:{fmt}} (P5 {q['p05']:{fmt}} – P95 {q['p95']:{fmt}})"


def finance_line(unit_id: str, scenario: str, scenario_hash: str) -> str:
    """How sure a unit's NPV is: P(NPV > 0) and its spread over the facts' ranges (`repm voi
    unit`), and the facts it hangs on (`repm sensitivity unit_npv`)."""
    parts = []
    s = _voi("unit", scenario, scenario_hash, unit_id=unit_id)
    if (
        s is not None
        and isinstance(s.meta.get("npv"), dict)
        and s.meta["npv"].get("p50") is not None
    ):
        m = s.meta
        parts.append(
            f"over {m['samples']} samples of the facts' ranges {unit_id}'s NPV is "
            f"{_span(m['npv'], ',.0f')} crore INR, > 0 in {m['p_npv_positive']:.0%} ({_where(s)})"
            + _turns_on(m)
        )
    else:
        parts.append(f"`repm voi unit` gives P(NPV > 0) for {unit_id} over the facts' ranges")
    for sens in stored_runs("sensitivity", scenario, scenario_hash):
        if sens.meta.get("output") == "unit_npv" and (ix := read_indices(sens)) is not None:
            parts.append(f"it hangs on {drivers_text(ix)}")
            break
    else:
        parts.append("`repm sensitivity unit_npv` ranks the facts it hangs on")
    return "how sure: " + "; ".join(parts)


def stockpile_line(service_level: float, scenario: str, scenario_hash: str) -> str:
    """How sure a stockpile size is: the size each parameter sample needs for the same service
    level, and how often it differs (`repm voi stockpile`)."""
    s = _voi("stockpile", scenario, scenario_hash, service_level=service_level)
    if s is not None and s.meta.get("sizes"):  # `--sizes`: multiples of this one, not resized
        m, c = s.meta, s.meta.get("choice", {})
        ks = c.get("multiples", m["sizes"])
        k = ks[c.get("options", []).index(c.get("expected_best"))]
        base = sum((m.get("sized_central") or {}).values())
        return (
            f"how sure: over {m['samples']} samples of the facts' ranges, of "
            f"{', '.join(f'{x:g}×' for x in ks)} the {base:,.0f} t stockpile sized at central "
            f"values over {m.get('draws', '?')} draws the best in expectation is {k:g}×, a "
            f"sample's own best another than at central values in {c.get('changed', 0)} of "
            f"{m['samples']}; knowing every fact first is worth {m['evpi']:,.1f} crore INR "
            f"(EVPI; {_where(s)})" + _turns_on(m)
        )
    if s is None or not isinstance(s.meta.get("stockpile_total"), dict):
        return (
            f"how sure: `repm voi stockpile --service-level {service_level:g}` sizes it again "
            "in each sample of the facts' ranges and values knowing each fact first"
        )
    m, c = s.meta, s.meta.get("choice", {})
    q = m["stockpile_total"]
    if q.get("p50") is None:
        return f"how sure: no sample of {_where(s)} could be sized"
    return (
        f"how sure: over {m['samples']} samples of the facts' ranges the stockpile for "
        f"{service_level:.0%} is {_span(q, ',.0f')} t in all, another than at central values "
        f"in {c.get('changed', 0)} of {m['samples']}; knowing every fact first is worth "
        f"{m['evpi']:,.1f} crore INR (EVPI; {_where(s)})" + _turns_on(m)
    )


def plan_line(scenarios: int, cvar: float, scenario: str, scenario_hash: str) -> str:
    """How sure a build-out is: the capacity each parameter sample's planner adds, and how often
    its build-out differs (`repm voi plan`)."""
    s = _voi("plan", scenario, scenario_hash, scenarios=scenarios, cvar=cvar)
    if s is None or not isinstance(s.meta.get("capacity_last_year"), dict):
        opts = (f" --scenarios {scenarios}" if scenarios else "") + (
            f" --cvar {cvar:g}" if cvar else ""
        )
        return (
            f"how sure: `repm voi plan{opts}` chooses the build-out again in each sample of the "
            "facts' ranges and values knowing each fact first"
        )
    m, c = s.meta, s.meta.get("choice", {})
    return (
        f"how sure: over {m['samples']} samples of the facts' ranges the planner adds "
        f"{_span(m['capacity_last_year'], ',.0f')} t/yr by the last year, another build-out in "
        f"{c.get('changed', 0)} of {m['samples']}; knowing every fact first is worth "
        f"{m['evpi']:,.1f} crore INR (EVPI; {_where(s)})" + _turns_on(m)
    )


def risk_line(unmet: dict[int, float], scenario: str, scenario_hash: str) -> str:
    """How sure the expected unmet demand is, in the year a stored sensitivity run ranked (else
    2030, else the last year): its spread over the facts' ranges (`repm uncertainty --draws`)
    beside this run's, and the facts it hangs on (`repm sensitivity expected_unmet`)."""
    from repm.reports.hangs.uncertainty import TAIL_DRAWS, UNMET, joint_band, read_spread

    ix, year = None, None
    for sens in stored_runs("sensitivity", scenario, scenario_hash):
        if sens.meta.get("output") == UNMET and sens.meta.get("year") in unmet:
            ix = read_indices(sens)
            if ix is not None:
                year = int(sens.meta["year"])
                break
    if year is None:
        year = 2030 if 2030 in unmet else max(unmet)
    parts = []
    for s in stored_runs("uncertainty", scenario, scenario_hash):
        spread = read_spread(s)
        band = spread.band(UNMET) if spread is not None else None
        if band is not None and year in band.index and "p50" in band.columns:
            q = band.loc[year]
            parts.append(
                f"over {spread.samples} samples of the facts' ranges the expected unmet demand in "
                f"{year} is {_span(q, ',.1f')} t, against {unmet[year]:,.1f} t here ({_where(s)})"
            )
            jb = joint_band(spread)
            if jb is not None and year in jb.index:
                parts.append(
                    f"with the shocks too ({spread.shock_draws or '?'} draws a sample) its P95 is "
                    f"{jb.loc[year, 'p95']:,.1f} t"
                )
            break
    else:
        parts.append(
            f"`repm uncertainty --draws {TAIL_DRAWS}` gives unmet demand's spread over the "
            "facts' ranges, alone and with the shocks"
        )
    if ix is not None:
        parts.append(f"in {year} it hangs on {drivers_text(ix)}")
    else:
        parts.append(
            f"`repm sensitivity expected_unmet --year {year} --draws 100` ranks the facts it "
            "hangs on"
        )
    return "how sure: " + "; ".join(parts)
