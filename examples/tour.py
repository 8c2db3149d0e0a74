# %% [markdown]
# # A tour of repm from Python
#
# Every command of the `repm` CLI is a function of the `repm` package. Each returns a
# `Result` holding an xarray Dataset (`.dataset`) and a pandas indicator table (`.indicators`),
# with the same numbers as `repm COMMAND --json`. Open this file in Jupyter or VS Code (the
# `# %%` lines are cells), or run it: `uv run python examples/tour.py`. CI runs it
# (tests/test_examples.py), so it stays true.

# %%
import repm

# %% [markdown]
# ## One path: the baseline without shocks

# %%
base = repm.run("india-baseline", step="yearly")
print(base)
print(base.indicators.head())

# %%
# year × indicator, totals only (rows without a sector, origin or material)
wide = base.totals()
print(wide[["magnet_demand", "magnet_production_domestic", "magnet_imports", "self_sufficiency"]])
assert round(base.value("magnet_demand", 2030)) == 8220  # the cited 2030 anchor

# %%
# the same numbers as labelled arrays, e.g. imports by origin in the last year
ds = base.dataset
print(ds)

# %% [markdown]
# ## A change: two scheme units instead of five
#
# Overrides are the CLI's `--set PATH=VALUE`, as a mapping. `store=False` keeps the run out of
# the run store (a sweep in a notebook need not fill it).

# %%
fewer = repm.run(
    overrides={f"supply.units.{i}.capacity": 0 for i in (2, 3, 4)}
    | {f"supply.units.{i}.scheme": False for i in (2, 3, 4)},
    step="yearly",
    store=False,
)
last = int(wide.index[-1])
gap = base.value("magnet_production_domestic", last) - fewer.value(
    "magnet_production_domestic", last
)
print(f"domestic output in {last}: {gap:,.0f} t/yr less with two units")
assert gap > 3000

# %% [markdown]
# ## Risk: export controls, a small Monte Carlo

# %%
risk = repm.risk(draws=200, seed=1)
print(risk.totals()[["p_shortage", "expected_unmet", "cvar95_unmet"]])
print(risk.dataset["unmet_quantiles"].sel(quantile=0.95).to_series().tail(3))

# %% [markdown]
# ## The stockpile for a service level, and the least-cost plan

# %%
held = repm.stockpile(service_level=0.9, draws=100, seed=1)
print({s["material"]: round(s["value"]) for s in held.payload["stockpile"]})
print(held.payload["note"])

# %%
plan = repm.plan()
print(plan.dataset["magnet_capacity"].to_series())
print(f"objective {plan.payload['objective']:,.0f} crore INR")

# %% [markdown]
# ## Does a unit pay? And where does a number come from?

# %%
fin = repm.finance(breakeven="price")
for u in fin.payload["units"][:1]:
    print(u["unit_id"], f"NPV {u['npv']:,.0f} {u['unit']}", "·", u["breakeven_note"])

# %%
print(repm.explain("magnet_demand", 2030))

# %% [markdown]
# ## Stored runs
#
# Runs stored by the API, the CLI and the dashboard share one store (`$REPM_HOME`).

# %%
print(repm.runs(limit=5)[["run_id", "command", "scenario"]])
again = repm.open_run(base.run_id)
assert again.indicators["value"].equals(base.indicators["value"])
