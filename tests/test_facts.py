"""The shipped fact table: it loads, every reference resolves, and disagreements are recorded."""

from __future__ import annotations

import textwrap

import pytest

from repm.model.facts import build_table, load_facts


@pytest.fixture(scope="module")
def facts():
    return load_facts()


def test_shipped_table_loads(facts):
    assert len(facts.facts) > 100
    assert len(facts.sources) > 20
    # each fact remembers the topic file it came from
    assert facts.origin_file["scheme_outlay"] == "scheme.yaml"
    assert facts.origin_file["aw_nd"] == "chemistry.yaml"


def test_every_cited_source_exists(facts):
    missing = [(f.id, s) for f in facts.facts.values() for s in f.sources if s not in facts.sources]
    assert missing == []
    parents = [
        (f.id, p) for f in facts.facts.values() for p in f.derived_from if p not in facts.facts
    ]
    assert parents == []


def test_graded_facts_have_sources_and_derived_facts_a_lineage(facts):
    for f in facts.facts.values():
        if f.grade in ("A", "B", "C"):
            assert f.sources, f.id
        if f.grade == "derived":
            assert f.derived_from or f.sources, f.id


def test_every_conflict_group_has_exactly_one_baseline(facts):
    groups = facts.conflicts()
    assert groups
    for group, members in groups.items():
        assert len(members) >= 2, f"{group}: a conflict needs two sides"
        assert sum(1 for m in members if m.baseline) == 1, group


@pytest.mark.parametrize(
    ("group", "values", "baseline"),
    [
        ("scheme_outlay", {7280, 7350}, 7280),
        ("india_magnet_imports_fy25", {540, 870, 53748, 700}, 870),
        ("india_magnet_demand_current", {4010, 7000}, 4010),
    ],
)
def test_required_disagreements_are_recorded(facts, group, values, baseline):
    members = facts.conflicts()[group]
    present = {m.central for m in members}
    assert values <= present
    chosen = [m for m in members if m.baseline]
    assert len(chosen) == 1 and chosen[0].central == baseline
    # the baseline says why it was chosen
    assert len(chosen[0].note) >= 40


def test_assumptions_carry_their_reasoning(facts):
    assumptions = [f for f in facts.facts.values() if f.grade == "assumption"]
    assert assumptions
    for f in assumptions:
        note = f.note.strip()
        assert note, f.id
        assert note.startswith("ASSUMPTION") or len(note) >= 40, f.id


def test_range_central_value_is_the_midpoint(facts):
    # 84.8–90.4 % → 87.6 %
    assert facts.value("china_share_magnet_imports") == pytest.approx((0.848 + 0.904) / 2)
    # explicit value wins over the range: IREL 400–500 t/yr, value 500
    assert facts.value("irel_separation_capacity") == 500


def test_value_converts_units(facts):
    # 7,280 crore INR = 7,280 × 1e7 INR
    assert facts.value("scheme_outlay", "INR") == pytest.approx(7280e7)


# --- build_table on small hand-written files ---------------------------------------------

SOURCES = textwrap.dedent(
    """
    sources:
      - {id: s1, title: "A report", publisher: "Someone", date: "2025", kind: press}
      - {id: s2, title: "Another", publisher: "Else", date: "2024", kind: official}
    """
)


def _fact(fid: str, *, sources: str = "[s1]", extra: str = "") -> str:
    return f'  - {{id: {fid}, value: 1, unit: t, sources: {sources}, grade: B, note: "n"{extra}}}\n'


def test_build_table_accepts_a_small_valid_table():
    text = (
        "facts:\n"
        + _fact("a")
        + _fact("b", extra=", conflict: g, baseline: true")
        + _fact("c", sources="[s2]", extra=", conflict: g, baseline: false")
    )
    table = build_table([("00.yaml", SOURCES), ("t.yaml", text)])
    assert set(table.facts) == {"a", "b", "c"}
    assert [f.id for f in table.conflicts()["g"]] == ["b", "c"]


def test_build_table_rejects_a_duplicate_fact_id():
    files = [
        ("00.yaml", SOURCES),
        ("t1.yaml", "facts:\n" + _fact("dup")),
        ("t2.yaml", "facts:\n" + _fact("dup")),
    ]
    with pytest.raises(RuntimeError, match=r"t2\.yaml.*'dup' defined twice"):
        build_table(files)


def test_build_table_rejects_a_duplicate_source_id():
    with pytest.raises(RuntimeError, match="source id 's1' defined twice"):
        build_table([("a.yaml", SOURCES), ("b.yaml", SOURCES)])


def test_build_table_rejects_an_unknown_source():
    with pytest.raises(RuntimeError, match="fact 'a' cites unknown source 'nope'"):
        build_table([("00.yaml", SOURCES), ("t.yaml", "facts:\n" + _fact("a", sources="[nope]"))])


def test_build_table_rejects_two_baselines_in_a_group():
    text = (
        "facts:\n"
        + _fact("a", extra=", conflict: g, baseline: true")
        + _fact("b", extra=", conflict: g, baseline: true")
    )
    with pytest.raises(RuntimeError, match="conflict group 'g' must mark exactly one"):
        build_table([("00.yaml", SOURCES), ("t.yaml", text)])


def test_build_table_rejects_a_group_without_baseline():
    text = "facts:\n" + _fact("a", extra=", conflict: g") + _fact("b", extra=", conflict: g")
    with pytest.raises(RuntimeError, match="conflict group 'g'"):
        build_table([("00.yaml", SOURCES), ("t.yaml", text)])


def test_build_table_rejects_a_graded_fact_without_sources():
    with pytest.raises(RuntimeError, match="t.yaml is invalid"):
        build_table([("00.yaml", SOURCES), ("t.yaml", "facts:\n" + _fact("a", sources="[]"))])


def test_build_table_rejects_a_bad_unit():
    text = "facts:\n" + _fact("a").replace("unit: t", "unit: furlongs_per_fortnight_squared_x")
    with pytest.raises(RuntimeError, match="bad unit"):
        build_table([("00.yaml", SOURCES), ("t.yaml", text)])


def test_the_seeds_import_figures_are_reconciled_by_what_they_cover(facts):
    """The 540 t, 870 t, ~700 t, 800–900 t, 53,748 t and US$221 M are one conflict group, each
    with what it covers; the baseline (870 t, the bare channel) says how the others relate."""
    members = {m.id: m for m in facts.conflicts()["india_magnet_imports_fy25"]}
    by_value = {m.central: m for m in members.values()}
    assert {540, 870, 700, 850, 53748, 221} <= set(by_value)
    assert by_value[221].unit == "MUSD" and "all-permanent-magnet" in by_value[221].note
    base = next(m for m in members.values() if m.baseline)
    assert base.id == "india_ndfeb_imports_fy25_et"  # what demand.channels.bare_base uses
    for figure in ("540", "700", "800–900", "53,748", "221", "2,850"):
        assert figure in base.note, figure
