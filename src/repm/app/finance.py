"""`repm finance` as a function: value the scheme units (or one hypothetical unit) and the
treasury's outlay, store the run, return `repm finance --json`'s object and the tables the CLI
prints."""

from __future__ import annotations

from repm.app.commands import Outcome, rows_dataset, store, table_results
from repm.app.requests import FinanceRequest
from repm.errors import UserError


def finance(req: FinanceRequest) -> Outcome:
    import dataclasses

    from repm.model.units import to_unit

    loaded = req.load()
    sc = loaded.scenario
    if sc.economics.finance is not None:
        fin = sc.economics.finance
        if fin.discount_rate <= -1:
            raise UserError(
                f"{fin.discount_rate:g}; expected a discount rate > −1",
                where="economics.finance.discount_rate",
            )

    from repm.analyses import finance as F
    from repm.results.build import run_scenario

    bid = None
    if req.sli_bid is not None:
        try:
            bid = to_unit(req.sli_bid, "INR/kg", fx_inr_per_usd=sc.economics.fx_inr_per_usd)
        except ValueError as exc:
            raise UserError(f"{exc}", where="--sli-bid") from None
    units = [F.hypothetical_unit(sc, req.unit, bid)] if req.unit is not None else F.unit_specs(sc)
    if bid is not None:
        F.check_bid(sc, bid)
        units = [dataclasses.replace(u, sli_bid=bid) for u in units]
    if not units:
        raise UserError(
            "no scheme units in this scenario; expected --unit CAPACITY", where="supply.units"
        )
    chain, results = run_scenario(loaded, step="yearly")
    ctx = F.context(sc, chain, results)
    fx = sc.economics.fx_inr_per_usd
    scale, money = (1.0, "crore INR") if req.currency == "INR" else (10.0 / fx, "million USD")

    rows, table_units = [], []
    for u in units:
        m = F.unit_metrics(ctx, u, price_basis=req.price)
        rec = {k: v for k, v in m.items() if k != "cash_flows"}
        for k in ("npv", "capex", "sli_total", "capital_subsidy"):
            rec[k] = rec[k] * scale
        rec["unit"] = money
        if req.breakeven == "sli":
            rec["breakeven_sli"], rec["breakeven_note"] = F.breakeven_sli(ctx, u)
        if req.breakeven == "price":
            rec["breakeven_price"], rec["breakeven_note"] = F.breakeven_price(ctx, u)
        if req.montecarlo:
            mc = F.montecarlo(ctx, chain, u, req.montecarlo, req.seed)
            rec["npv_percentiles"] = {
                k: (v * scale if k.startswith(("p", "mean")) else v) for k, v in mc.items()
            }
        if req.sensitivity:
            tor = F.tornado(ctx, u)
            rec["sensitivity"] = [
                {"lever": r.lever, "npv_low": r.npv_low * scale, "npv_high": r.npv_high * scale}
                for r in tor.itertuples()
            ]
        table_units.append(rec)
        for r in m["cash_flows"].itertuples():
            for name in ("revenue", "sli", "capital_subsidy", "net"):
                rows.append({"year": int(r.year), "name": f"unit_{name}",
                             "value": float(getattr(r, name)) * scale, "unit": money,
                             "unit_id": u.unit_id})  # fmt: skip
    out_df = F.outlay(ctx, units)
    check = F.outlay_check(ctx, out_df)
    for r in out_df.itertuples():
        rows.append({"year": int(r.year), "name": "scheme_outlay", "value": float(r.total) * scale,
                     "unit": money})  # fmt: skip
    routes_df = F.route_costs(results)
    for r in routes_df.to_dict("records"):
        for name in (c for c in routes_df.columns if c != "year"):
            rows.append({"year": int(r["year"]), "name": name, "value": float(r[name]) * scale,
                         "unit": money})  # fmt: skip

    sep_df = F.separation_side(results)
    for r in sep_df.to_dict("records"):
        for name in (c for c in sep_df.columns if c != "year"):
            rows.append({"year": int(r["year"]), "name": f"separation_{name}" if name == "margin_before_opex" else name,
                         "value": float(r[name]) * scale, "unit": money})  # fmt: skip

    stored = table_results(loaded, rows, rows_dataset(loaded, rows))
    flat_units = [
        {k: v for k, v in r.items() if not isinstance(v, list | dict)} for r in table_units
    ]
    run_id, path = store(
        req, loaded, stored, "finance", meta={"units": flat_units, "outlay_check": check},
    )  # fmt: skip
    payload = {
        "command": "finance", "scenario": loaded.name, "run_id": run_id, "currency": req.currency,
        "indicators": rows,
        "units": table_units,
        "outlay": [{"year": int(r.year), "value": float(r.total) * scale, "unit": money}
                   for r in out_df.itertuples()],
        "outlay_check": check,
        "route_costs": [
            {"year": int(r["year"]), **{k: float(v) * scale for k, v in r.items() if k != "year"}}
            for r in routes_df.to_dict("records")
        ],
        "separation": [
            {"year": int(r["year"]), **{k: float(v) * scale for k, v in r.items() if k != "year"}}
            for r in sep_df.to_dict("records")
        ],
    }  # fmt: skip
    tables = {"units": table_units, "outlay": out_df, "check": check, "routes": routes_df,
              "scale": scale, "money": money, "price": req.price, "route_labels": dict(F.ROUTE_COSTS),
              "separation": sep_df}  # fmt: skip
    return Outcome(payload, stored, run_id, path, tables, loaded)
