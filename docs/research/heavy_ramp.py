"""The secured Dy/Tb outside China on a ramp, not from 2024: what `trade.shares` cannot say.

    uv run python docs/research/heavy_ramp.py [--draws 10000] [--seed 0] [--scenario NAME]

`trade.shares` is one number per origin and material group for the whole horizon, so
`india-heavy-outside-china` secures its 40 % from 2024, though non-Chinese heavy rare earth
separation was ~70 t/yr at the end of 2025 and most of what is announced starts in 2026–28
(docs/routes.md, "Heavy rare earths outside China"). The engine itself already reads import
shares by year (a Plan's `import_share` may be year × origin × material; `repm plan` writes
one that way), so this script builds that Plan by hand — the scenario's capacity and stockpile,
its heavy shares on a ramp — and runs the same Monte Carlo as `repm risk` (same draws, same
seed, same metrics). Nothing in src/ is changed: the scenario field that would say it is
described in docs/routes.md.

The ramp: India's secured share grows linearly from 0 in 2025 (no Indian offtake reported) to
the fact's 0.4 in 2030 (`india_heavy_secured_share_non_china`) and stays there; split Lynas /
Caremag as the scenario (`india_heavy_secured_lynas_part`), on top of the baseline's Malaysian
2 % (`share_heavy_malaysia`). So 2028's secured share is 0.24 and 2029's 0.32. `--start` and
`--full` move the ramp (e.g. `--start 2027`: nothing before Caremag and Lynas's new facility
run; `--full 2032`: their usual slips).
"""

from __future__ import annotations

import argparse

import numpy as np

from repm.analyses.risk import metrics, run_draws
from repm.chain import compile_chain
from repm.chain.plan import Plan
from repm.model.facts import load_facts
from repm.results.build import build_results
from repm.scenario import load_scenario
from repm.simulate.engine import simulate

HEAVY = ["dy_oxide", "tb_oxide", "dy_metal", "tb_metal"]
YEARS_SHOWN = (2028, 2029, 2030, 2032, 2033, 2035)


def ramp(years: np.ndarray, level: float, start: int = 2025, full: int = 2030) -> np.ndarray:
    """The secured share by year: 0 up to `start`, linear to `level` at `full`, flat after."""
    return level * np.clip((years - start) / (full - start), 0.0, 1.0)


def ramped_plan(chain, secured: np.ndarray) -> Plan:
    """The scenario's decisions with the heavy group's import shares by year."""
    F = load_facts()
    base_my = F.value("share_heavy_malaysia")
    lynas = F.value("india_heavy_secured_lynas_part")
    share = chain.import_share.expand_dims(year=chain.years).copy()
    for yi, s in enumerate(secured):
        by = {"China": 1 - base_my - s, "Malaysia": base_my + s * lynas, "EU": s * (1 - lynas)}
        for m in HEAVY:
            share.loc[{"year": chain.years[yi], "material": m}] = 0.0
            for o, v in by.items():
                share.loc[{"year": chain.years[yi], "material": m, "origin": o}] = v
    return Plan(capacity=chain.capacity, import_share=share, stockpile=chain.stockpile0)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--draws", type=int, default=10_000)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--scenario", default="india-heavy-outside-china")
    ap.add_argument("--start", type=int, default=2025, help="last year with no secured share")
    ap.add_argument("--full", type=int, default=2030, help="first year at the full share")
    args = ap.parse_args()

    loaded = load_scenario(args.scenario)
    chain = compile_chain(loaded.scenario)
    level = load_facts().value("india_heavy_secured_share_non_china")
    secured = ramp(np.asarray(chain.years, dtype=float), level, args.start, args.full)
    plan = ramped_plan(chain, secured)
    print(f"{args.scenario}, secured share on a ramp, {args.draws:,} draws, seed {args.seed}")
    print(
        "secured share by year:",
        ", ".join(f"{y} {s:.2f}" for y, s in zip(chain.years, secured, strict=True)),
    )
    for label, p in (("fixed (the scenario)", None), ("ramp", plan)):
        summary = run_draws(chain, loaded.scenario, draws=args.draws, seed=args.seed, plan=p)
        df = metrics(chain, loaded.scenario, summary)
        tot = df[df["sector"].isna()] if "sector" in df else df
        results = build_results(chain, simulate(chain, plan=p))
        print(f"\n{label}")
        for y in YEARS_SHOWN:
            v = {n: float(tot[(tot.year == y) & (tot.name == n)].value.iloc[0])
                 for n in ("p_shortage", "expected_unmet", "cvar95_unmet")}  # fmt: skip
            china = results.value("china_content_share", y)
            print(f"  {y}: P(short) {100 * v['p_shortage']:5.2f} %  E(unmet) {v['expected_unmet']:7.3f} t"
                  f"  CVaR95 {v['cvar95_unmet']:7.2f} t  China content {100 * china:5.1f} %")  # fmt: skip


if __name__ == "__main__":
    main()
