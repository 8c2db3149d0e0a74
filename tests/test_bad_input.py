"""A table of user mistakes, each run through the CLI (in this interpreter, as `python -m repm.cli`
would run it; one also in a fresh one): exit 2, one line `error: ...` naming the field and the
value, no traceback, and nothing written."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import pytest
from conftest import run_cli

GOOD = "extends: india-baseline\n"
PLAN = "plan:\n  scenario: india-baseline\n  capacity: {2030: 100}\n"
EVENT = (  # a risk event but for its origin
    "name: x, kind: outage, materials: [dy_oxide], hazard: 0.1, duration: {mean_months: 2}, "
    "severity_low: 1, severity_high: 1"
)


@dataclass(frozen=True)
class Case:
    id: str
    args: list[str]  # "{dir}" is replaced by the case's folder
    expect: tuple[str, ...]  # substrings the error line must contain (field path, value, …)
    files: dict[str, str] = field(default_factory=dict)
    out: bool = True  # also pass `--out {dir}/out` and check it is not created (run only)


CASES = [
    Case("missing-file", ["run", "{dir}/missing.yaml"], ("missing.yaml", "file not found")),
    Case("malformed-yaml", ["run", "{dir}/bad.yaml"], ("bad.yaml", "malformed YAML", "line 3"),
         files={"bad.yaml": "extends: india-baseline\ndemand: [unclosed\n"}),
    Case("unknown-top-level-key", ["run", "{dir}/s.yaml"], ("bogus", "unknown key"),
         files={"s.yaml": GOOD + "bogus: 1\n"}),
    Case("unknown-nested-key", ["run", "{dir}/s.yaml"], ("supply.yields.bogus_yield", "unknown key"),
         files={"s.yaml": GOOD + "supply:\n  yields:\n    bogus_yield: 0.5\n"}),
    Case("wrong-unit", ["run", "--set", 'supply.units.0.capacity="600 kg"'],
         ("supply.units.0.capacity", "600 kg", "t/yr")),
    Case("shares-sum-to-0.9", ["run", "{dir}/s.yaml"], ("trade.shares.heavy", "0.9", "expected 1"),
         files={"s.yaml": GOOD + "trade:\n  shares:\n    heavy:\n      China: 0.88\n      Malaysia: 0.02\n"}),
    # import shares on a year path (trade.share_paths): each mistake one line, all at once
    Case("share-path-year-not-summing-to-1", ["run", "india-heavy-outside-china", "--set",
         "trade.share_paths.heavy.2030.China=0.5"], ("trade.share_paths.heavy.2030", "0.92", "expected 1")),
    Case("share-path-beside-shares", ["run", "--set", "trade.share_paths.heavy.2030.China=1"],
         ("trade.share_paths.heavy", "trade.shares.heavy", "expected one of them")),
    Case("share-path-mistakes-at-once", ["run", "{dir}/s.yaml"],
         ("trade.share_paths.heavy.2030.Lynas: unknown origin", "trade.share_paths.heavy.2031: shares sum to 0.9",
          "trade.share_paths.heavy: year 2090", "1974–2085", "trade.share_paths.heavvy: unknown material group",
          "(4 mistakes)"),
         files={"s.yaml": GOOD + "trade:\n  shares: {heavy: null}\n  share_paths:\n    heavy:\n"
                "      2030: {China: 0.9, Lynas: 0.1}\n      2031: {China: 0.9}\n      2090: {China: 1}\n"
                "    heavvy: {2030: {China: 1}}\n"}),
    Case("negative-capacity", ["run", "--set", "supply.units.0.capacity=-5"],
         ("supply.units.0.capacity", "-5", "≥ 0")),
    Case("nan", ["run", "--set", "supply.units.0.capacity=.nan"], ("supply.units.0.capacity", "nan", "finite")),
    Case("inf", ["run", "--set", "demand.anchors.2030=.inf"], ("demand.anchors.2030", "inf", "finite")),
    Case("nan-in-file", ["validate", "{dir}/s.yaml"], ("supply.yields.sx_recovery", "nan"),
         files={"s.yaml": GOOD + "supply:\n  yields:\n    sx_recovery: .nan\n"}, out=False),
    Case("localization-year-far-outside-horizon", ["run", "--set", "demand.channels.localization.2090=0.5"],
         ("demand.channels.localization", "2090", "2024–2035", "1974–2085")),
    Case("sector-path-year-far-outside-horizon", ["run", "--set", "demand.channels.localization_by_sector.wind.1900=0"],
         ("demand.channels.localization_by_sector.wind", "1900", "1974–2085")),
    Case("activity-path-wrong-units", ["run", "--set", 'demand.sectors.wind.activity_path.2027="5 t"'],
         ("demand.sectors.wind.activity_path.2027", "MW")),
    Case("activity-path-at-base-year", ["run", "--set", "demand.sectors.wind.activity_path.2025=4000"],
         ("demand.sectors.wind.activity_path", "2025", "base year")),
    Case("activity-path-with-zero-activity", ["run", "--set", 'demand.sectors.wind.activity="0 MW/yr"'],
         ("demand.sectors.wind", "activity", "> 0")),
    Case("activity-without-units-beside-a-path", ["run", "--set", "demand.sectors.wind.activity=4000"],
         ("demand.sectors.wind", "activity: 4000 has no units", "MW")),
    Case("activity-path-on-share-sector", ["run", "--set", "demand.sectors.electronics.activity_path.2027=5"],
         ("demand.sectors.electronics", "activity_path", "driver")),
    Case("price-path-year-far-outside-horizon", ["run", "--set", "economics.oxide_prices.ndpr_oxide.3025=1000"],
         ("economics.oxide_prices.ndpr_oxide", "3025")),
    Case("two-cross-checks-at-once", ["run", "{dir}/s.yaml"],
         ("demand.anchors", "2050", "supply.separation.output", "2099", "2 mistakes"),
         files={"s.yaml": GOOD + "demand:\n  anchors: {2050: 100}\n"
                "supply:\n  separation:\n    output:\n      2099: 100\n"}),
    Case("separation-year-outside-horizon", ["run", "{dir}/s.yaml"], ("supply.separation.output", "2099"),
         files={"s.yaml": GOOD + "supply:\n  separation:\n    output:\n      2099: 100\n"}),
    Case("unknown-fact-id", ["run", "--set", "demand.growth_after_anchors=fact:no_such_fact"],
         ("demand.growth_after_anchors", "no_such_fact")),
    Case("unknown-fact-id-in-file", ["run", "{dir}/s.yaml"], ("scheme.outlay", "no_such_fact"),
         files={"s.yaml": GOOD + "scheme:\n  outlay: fact:no_such_fact\n"}),
    Case("unknown-set-path", ["run", "--set", "supply.no_such_field=1"], ("supply.no_such_field", "unknown key")),
    Case("list-index-out-of-range", ["run", "--set", "supply.units.9.capacity=800"],
         ("supply.units.9.capacity", "index 9 out of range", "6 items")),
    Case("scheme-unit-too-big", ["run", "--set", "supply.units.0.capacity=1300"],
         ("supply.units.0.capacity", "1300", "600–1200")),
    Case("step-weekly", ["run", "--step", "weekly"], ("--step", "weekly", "monthly")),
    Case("out-exists", ["run", "--out", "{dir}/exists"], ("--out", "exists", "already exists"),
         files={"exists/.keep": ""}, out=False),
    Case("explain-unknown-indicator", ["explain", "no_such_indicator", "2030"], ("no_such_indicator", "expected one of"),
         out=False),
    Case("explain-year-outside-horizon", ["explain", "magnet_demand", "2050"], ("2050", "2024–2035"), out=False),
    Case("extends-cycle", ["run", "{dir}/a.yaml"], ("extends", "a.yaml", "cycle"),
         files={"a.yaml": "extends: b.yaml\n", "b.yaml": "extends: a.yaml\n"}),
    Case("no-such-scenario-name", ["run", "india-nowhere"], ("india-nowhere", "india-baseline")),
    # routes (issue 6)
    Case("tolling-negative-fee", ["run", "india-tolling-japan", "--set", "routes.tolling.0.fee=-5"],
         ("routes.tolling.0.fee", "-5", "≥ 0")),
    Case("tolling-unknown-partner", ["run", "india-tolling-japan", "--set", "routes.tolling.0.partner=Mars"],
         ("routes.tolling.0.partner", "Mars", "trade.origins")),
    Case("overseas-start-outside-horizon", ["run", "india-overseas-mines", "--set", "routes.overseas.0.start_year=2050"],
         ("routes.overseas.0.start_year", "2050", "2024–2035")),
    Case("retention-share-over-1", ["run", "india-tolling-japan", "--set", "routes.export_retention.share=1.5"],
         ("routes.export_retention.share", "1.5", "≤ 1")),
    Case("incentive-ends-before-it-starts", ["run", "india-buyer-incentive", "--set", "routes.consumer_incentive.end_year=2027"],
         ("routes.consumer_incentive.end_year", "2027", "before")),
    Case("sx-recovery-zero", ["run", "--set", "supply.yields.sx_recovery=0"],
         ("supply.yields", "sx_recovery", "0", "> 0")),
    Case("mixed-reo-without-ndpr", ["run", "india-overseas-mines", "--set", "routes.overseas.1.ndpr_share_of_reo=0"],
         ("routes.overseas.1", "ndpr_share_of_reo", "> 0")),
    Case("world-production-over-1", ["run", "--set", "trade.world_production.magnet.Japan=0.5"],
         ("trade.world_production.magnet", "1.4", "at most 1")),
    # issue 15 part 3: each of these was exit 1 (a TypeError, a ValueError, an OSError)
    Case("preset-not-a-name", ["run", "{dir}/s.yaml"], ("risk.events.0", "unknown preset [1, 2]", "china_april_2025"),
         files={"s.yaml": GOOD + "risk:\n  events: [{preset: [1, 2]}]\n"}),
    # a common cause names several origins (risk.events.N.origin a list): each unknown one, at once
    Case("event-origins-unknown", ["risk", "--draws", "10", "{dir}/s.yaml"],
         ("risk.events.0.origin: unknown origin 'Mars'", "risk.events.0.origin: unknown origin 'Venus'",
          "trade.origins (China, Japan, Vietnam, Malaysia, Australia, USA, EU, Others)", "(2 mistakes)"),
         files={"s.yaml": GOOD + "risk:\n  events: [{" + EVENT + ", origin: [Malaysia, Mars, Venus]}]\n"}),
    Case("event-origins-empty", ["risk", "--draws", "10", "{dir}/s.yaml"],
         ("risk.events.0.origin", "an empty list", "(got [])"),
         files={"s.yaml": GOOD + "risk:\n  events: [{" + EVENT + ", origin: []}]\n"}),
    Case("event-origins-twice", ["risk", "--draws", "10", "{dir}/s.yaml"],
         ("risk.events.0.origin", "'EU' given more than once", "['EU', 'Malaysia', 'EU']"),
         files={"s.yaml": GOOD + "risk:\n  events: [{" + EVENT + ", origin: [EU, Malaysia, EU]}]\n"}),
    Case("scheduler-garbage", ["risk", "--draws", "10", "--scheduler", "garbage"],
         ("--scheduler", "'garbage'", "tcp://HOST:8786")),
    Case("scheduler-bad-port", ["risk", "--draws", "10", "--scheduler", "tcp://127.0.0.1:99999"],
         ("--scheduler", "99999", "tcp://HOST:8786")),
    Case("out-under-proc", ["run", "--out", "/proc/repm-run"], ("--out", "/proc/repm-run", "cannot write in '/proc'"),
         out=False),
    Case("save-plan-under-proc", ["plan", "--save-plan", "/proc/plan.yaml"], ("--save-plan", "/proc/plan.yaml", "cannot write")),
    Case("scenario-not-utf8", ["run", "{dir}/s.yaml"], ("s.yaml", "not UTF-8", "line 1: byte b'\\xff'")),
    Case("compare-a-run-with-itself", ["compare", "20260101T120000-0123abcd-4f5e", "20260101T120000-0123abcd-4f5e"],
         ("compare", "given more than once", "different runs"), out=False),
    # issue 15 part 4: a key given twice was silently the last one
    Case("duplicate-key", ["run", "{dir}/s.yaml"], ("s.yaml", "line 3", "'name' given twice", "first at line 2"),
         files={"s.yaml": GOOD + "name: a\nname: b\n"}),
    Case("duplicate-year-quoted-and-not", ["validate", "{dir}/s.yaml"], ("s.yaml", "line 4", "2025", "given twice"),
         files={"s.yaml": GOOD + "demand:\n  anchors:\n    \"2025\": 4010\n    2025: 4100\n"}, out=False),
    Case("every-mistake-of-a-file-at-once", ["run", "{dir}/s.yaml"],
         ("demand.growth_after_anchors: '7 kg' has units of kg", "supply.yields.sx_recovery",
          "nan", "supply.yields.bogus_yield: unknown key", "bogus: unknown key", "(4 mistakes)"),
         files={"s.yaml": GOOD + "bogus: 1\nsupply:\n  yields:\n    sx_recovery: .nan\n"
                                 "    bogus_yield: 2\ndemand:\n  growth_after_anchors: 7 kg\n"}),
    # plan files are read as strictly as scenarios, every mistake at once (part 4)
    Case("plan-shares-outside-0-1", ["run", "--plan", "{dir}/p.yaml"],
         ("p.yaml", "plan.import_shares.ndpr_oxide.China: 2; expected 0 to 1",
          "plan.import_shares.ndpr_oxide.Japan: -1; expected 0 to 1", "(2 mistakes)"),
         files={"p.yaml": PLAN + "  import_shares: {ndpr_oxide: {China: 2.0, Japan: -1.0}}\n"}),
    Case("plan-nan-share-and-stockpile", ["risk", "--draws", "10", "--plan", "{dir}/p.yaml"],
         ("plan.import_shares.ndpr_oxide.China: nan; expected a finite number",
          "plan.stockpile.magnet_uh: nan; expected a finite number of t"),
         files={"p.yaml": PLAN + "  import_shares: {ndpr_oxide: {China: .nan, Japan: 1}}\n"
                                 "  stockpile: {magnet_uh: .nan}\n"}),
    Case("plan-huge-capacity", ["run", "--plan", "{dir}/p.yaml"],
         ("plan.capacity.2031", "1e+15", "expected 0 to 1e+09 t/yr"),
         files={"p.yaml": "plan:\n  scenario: x\n  capacity: {2031: 1.0e+15}\n"}),
    Case("plan-duplicate-year", ["run", "--plan", "{dir}/p.yaml"], ("p.yaml", "line 4", "2030", "given twice"),
         files={"p.yaml": "plan:\n  scenario: x\n  capacity:\n    2030: 100\n    2030: 200\n"}),
    Case("plan-unknown-field", ["run", "--plan", "{dir}/p.yaml"], ("plan.bogus", "Extra inputs"),
         files={"p.yaml": PLAN + "  bogus: 1\n"}),
    Case("plan-not-utf8", ["run", "--plan", "{dir}/p.yaml"], ("p.yaml", "not UTF-8", "line 2: byte b'\\xe9'")),
    # resource bounds (part 2): stated maximums checked before any work
    Case("alias-bomb", ["run", "{dir}/s.yaml"], ("s.yaml", "expands to more than 100,000 values"),
         files={"s.yaml": GOOD + "x: &a [" + ", ".join(["0"] * 1000) + "]\ny: [" + ", ".join(["*a"] * 200) + "]\n"}),
    Case("aliased-events", ["run", "{dir}/s.yaml"], ("s.yaml", "risk.events", "30,000 items", "at most 100"),
         files={"s.yaml": GOOD + "e: &e {preset: china_april_2025}\nrisk:\n  events: [" + ", ".join(["*e"] * 30_000) + "]\n"}),
    Case("plan-scenarios-1e9", ["plan", "--scenarios", "1000000000"], ("--scenarios", "1000000000", "0 to 1,000")),
    Case("finance-montecarlo-1e9", ["finance", "--montecarlo", "1000000000"], ("--montecarlo", "1000000000", "0 to 100,000")),
    Case("risk-draws-beyond-max", ["risk", "--draws", "1000000000"], ("--draws", "1,000,000,000", "at most 100,000,000")),
    Case("risk-workers-negative", ["risk", "--draws", "10", "--scheduler", "local", "--workers", "-1"],
         ("--workers", "-1", "1 to 64")),
    Case("risk-workers-zero", ["risk", "--draws", "10", "--workers", "0"], ("--workers", "0", "1 to 64")),
    Case("risk-chunk-huge", ["risk", "--draws", "10", "--chunk", "10000000"], ("--chunk", "10000000", "1 to 100,000")),
    # numerics at the edges (part 6): beyond 1e9 t the mass balance cannot hold to 1e-6 t
    Case("stockpile-1e15", ["run", "--set", "policy.stockpile.ndpr_oxide=1e15"],
         ("policy.stockpile.ndpr_oxide", "1e+15 t", "at most 1e+09 t", "mass balance")),
    Case("growth-10-a-year-for-60-years", ["risk", "--draws", "10", "--set", "demand.growth_after_anchors=10",
                                           "--set", "horizon.end=2083"],
         ("demand: demand reaches", "year 2083", "at most 1e+09 t")),
    Case("validate-growth", ["validate", "india-baseline", "--set", "demand.growth_after_anchors=10",
                             "--set", "horizon.end=2083"], ("demand", "at most 1e+09 t"), out=False),
]  # fmt: skip
BYTES = {
    "scenario-not-utf8": {"s.yaml": b"extends: indi\xff-baseline\n"},
    "plan-not-utf8": {"p.yaml": b"plan:\n  scenario: caf\xe9\n  capacity: {}\n"},
}


def _case_args(case: Case, folder: Path) -> list[str]:
    args = [a.replace("{dir}", str(folder)) for a in case.args]
    if case.out:
        args += ["--out", str(folder / "out")]
    return args


@pytest.fixture(scope="module")
def outcomes(tmp_path_factory):
    """Run every case; each gets its own folder and its own REPM_HOME."""
    base = tmp_path_factory.mktemp("bad")
    jobs, folders = {}, {}
    for case in CASES:
        folder = base / case.id
        folder.mkdir()
        for name, text in case.files.items():
            (folder / name).parent.mkdir(parents=True, exist_ok=True)
            (folder / name).write_text(text)
        for name, data in BYTES.get(case.id, {}).items():
            (folder / name).write_bytes(data)
        folders[case.id] = folder
        jobs[case.id] = dict(args=_case_args(case, folder), home=folder / "home")
    return {cid: (run_cli(**job), folders[cid]) for cid, job in jobs.items()}


def _files_under(path: Path) -> list[Path]:
    return [p for p in path.rglob("*")] if path.exists() else []


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_bad_input_is_one_line_exit_2_nothing_written(case, outcomes, repm_home):
    res, folder = outcomes[case.id]
    _check(case, res, folder, repm_home)


@pytest.mark.parametrize("case_id", ["wrong-unit"])
def test_a_real_process_exits_2_with_one_line(case_id, tmp_path, repm_home):
    """The same checks on a fresh interpreter: the exit status and streams a user's shell sees."""
    case = next(c for c in CASES if c.id == case_id)
    folder = tmp_path / case.id
    folder.mkdir()
    for name, text in case.files.items():
        (folder / name).write_text(text)
    res = run_cli(_case_args(case, folder), home=folder / "home", subprocess=True)
    _check(case, res, folder, repm_home)


def _check(case: Case, res, folder: Path, repm_home: Path) -> None:
    assert res.returncode == 2, (res.stdout, res.stderr)
    assert "Traceback" not in res.stderr and "Traceback" not in res.stdout
    lines = res.stderr.splitlines()
    assert len(lines) == 1, res.stderr
    line = lines[0]
    assert line.startswith("error: ")
    for text in case.expect:
        assert text in line, f"{text!r} not in {line!r}"
    assert res.stdout == ""
    # nothing written: no run store, no --out folder, no stray files next to the inputs
    assert _files_under(folder / "home") == []
    assert not (folder / "out").exists()
    given = [*case.files, *BYTES.get(case.id, {})]
    expected = {folder / name for name in given} | {(folder / name).parent for name in given}
    assert set(_files_under(folder)) <= expected | {folder}
    if case.id == "out-exists":
        assert [p.name for p in (folder / "exists").iterdir()] == [".keep"]
    assert _files_under(repm_home) == []
