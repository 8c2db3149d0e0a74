"""A stored `repm voi` run read back: EVPI and the EVPPI ranking of facts and groups, their
bars, and each row's verdict against the chance level and the fact's grade."""

from __future__ import annotations

import math
from dataclasses import dataclass

import plotly.graph_objects as go

from repm.reports.hangs.stored import Stored, as_float, as_int, indicators, stored_runs
from repm.results.store import RunData


@dataclass(frozen=True)
class Voi:
    run_id: str
    decision: str
    samples: int | None
    evpi: float | None
    unit: str
    noise_floor: float | None
    ranking: list[tuple[str, float]]  # (fact or group, EVPPI), largest first
    same_settings: bool = True


def read_voi(stored: Stored | RunData) -> Voi | None:
    df = indicators(stored)
    meta = stored.meta
    if df is None or "channel" not in df:
        return None
    rows = df[(df["name"] == "voi_evppi") & df["channel"].notna()]
    ranking = sorted(
        ((str(c), float(v)) for c, v in zip(rows["channel"], rows["value"], strict=True)
         if isinstance(v, int | float) and math.isfinite(v)),
        key=lambda r: -r[1],
    )  # fmt: skip
    evpi_rows = df[df["name"] == "voi_evpi"]
    evpi = float(evpi_rows["value"].iloc[0]) if len(evpi_rows) else as_float(meta.get("evpi"))
    if not ranking and evpi is None:
        return None
    unit = str(rows["unit"].iloc[0]) if len(rows) else str(meta.get("unit") or "crore INR")
    return Voi(
        str(meta.get("run_id") or getattr(stored, "run_id", "")), str(meta.get("decision") or "?"),
        as_int(meta.get("samples")), evpi, unit, as_float(meta.get("noise_floor")), ranking,
        getattr(stored, "same_settings", True),
    )  # fmt: skip


def latest_voi(run: RunData) -> list[Voi]:
    """The latest stored voi run per decision (the run itself first if it is one)."""
    found: dict[str, Voi] = {}
    if run.meta.get("command") == "voi":
        v = read_voi(run)
        if v is not None:
            found[v.decision] = v
    for s in stored_runs("voi", run.meta.get("scenario"), run.meta.get("scenario_hash")):
        if s.meta.get("decision") in found:
            continue
        v = read_voi(s)
        if v is not None and v.decision not in found:
            found[v.decision] = v
    return list(found.values())


def evppi_bars(v: Voi, top: int = 12) -> go.Figure:
    shown = list(reversed([r for r in v.ranking if round(r[1], 2) > 0][:top] or v.ranking[:1]))
    fig = go.Figure()
    fig.add_bar(y=[r[0] for r in shown], x=[r[1] for r in shown], orientation="h", name="EVPPI",
                marker_color="#2ca02c")  # fmt: skip
    if v.noise_floor:
        fig.add_vline(x=v.noise_floor, line_dash="dash", line_color="#d62728",
                      annotation_text="chance level")  # fmt: skip
    fig.update_layout(
        title=f"voi {v.decision}: what knowing each fact before deciding is worth [{v.unit}] (run {v.run_id})",
        template="plotly_white", xaxis_title=v.unit, height=max(260, 60 + 30 * len(shown)),
        margin={"l": 220, "r": 20, "t": 60, "b": 40},
    )  # fmt: skip
    return fig


def grades(ids: list[str]) -> dict[str, str]:
    """Each fact's reliability grade (groups and unknown ids have none)."""
    try:
        from repm.model.facts import load_facts

        table = load_facts()
    except Exception:  # noqa: BLE001 - the ranking stands without grades
        return {}
    return {f: str(table.get(f).grade) for f in ids if f in table}


def verdict(value: float, floor: float | None, grade: str | None) -> str:
    if floor is None:
        return ""
    if value <= floor:
        return "within chance"
    if grade in ("C", "assumption"):
        return "▶ above chance, weak grade: research to do next"
    return "above chance"
