"""Names are data wherever they are printed (issue 15 part 3): rich markup in a scenario name
(`[/x]`) crashed five commands after the run was stored, and `repm compare` on such a run;
terminal escape sequences in a name reached the terminal; a quoted year key was a TypeError."""

from __future__ import annotations

import json

import pytest
from conftest import run_cli

from repm.scenario import load_scenario

NAME = "[/x] [bold]b\x1b[31mred\x07"
SHOWN = "[/x] [bold]b\\x1b[31mred\\x07"  # what the terminal gets: the text, escapes as \xNN


@pytest.fixture(scope="module")
def hostile(tmp_path_factory):
    folder = tmp_path_factory.mktemp("names")
    path = folder / "s.yaml"
    path.write_text(f"extends: india-baseline\nname: {json.dumps(NAME)}\n", encoding="utf-8")
    return path, folder / "home"


@pytest.mark.parametrize(
    "args",
    [["run", "--step", "yearly"], ["risk", "--draws", "8"],
     ["stockpile", "--draws", "1", "--service-level", "0.5"], ["plan"], ["finance"]],
    ids=["run", "risk", "stockpile", "plan", "finance"],
)  # fmt: skip
def test_a_name_with_markup_and_escapes_prints_as_text(args, hostile):
    path, home = hostile
    res = run_cli([args[0], str(path), *args[1:]], home=home)
    assert res.returncode == 0, res.stderr
    assert SHOWN in res.stdout
    assert "\x1b" not in res.stdout + res.stderr and "\x07" not in res.stdout + res.stderr


def test_compare_and_runs_print_such_names_as_text(hostile):
    path, home = hostile
    ids = []
    for _ in range(2):
        res = run_cli(["run", str(path), "--step", "yearly", "--json"], home=home)
        assert res.returncode == 0, res.stderr
        ids.append(json.loads(res.stdout)["run_id"])
        assert json.loads(res.stdout)["scenario"] == NAME  # the JSON keeps the name as given
    for args in (["compare", *ids], ["runs"]):
        res = run_cli(args, home=home)
        assert res.returncode == 0, res.stderr
        assert SHOWN in res.stdout
        assert "\x1b" not in res.stdout


def test_an_error_naming_an_escape_sequence_prints_it_as_text(tmp_path):
    res = run_cli(["run", "--set", "supply.units.0.capacity=\x1b[2J600 kg"])
    assert res.returncode == 2
    assert "\\x1b[2J600 kg" in res.stderr and "\x1b" not in res.stderr


def test_a_quoted_year_key_is_the_year(tmp_path):
    """`anchors: {"2025": 4500}` overrides the parent's 2025 anchor, as `--set
    demand.anchors.2025=4500` does (before: a TypeError when the run was hashed)."""
    path = tmp_path / "q.yaml"
    path.write_text('extends: india-baseline\ndemand:\n  anchors: {"2025": 4500}\n')
    quoted = load_scenario(str(path))
    assert quoted.scenario.demand.anchors[2025] == pytest.approx(4500)
    assert (
        quoted.raw["demand"]["anchors"][2025] == 4500
        and "2025" not in quoted.raw["demand"]["anchors"]
    )
    by_set = load_scenario("india-baseline", ["demand.anchors.2025=4500"])
    assert quoted.scenario.demand.anchors == by_set.scenario.demand.anchors
    assert len(quoted.hash) == 16
