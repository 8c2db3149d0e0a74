"""Scenario blocks: trade (origins, shares, spare capacity, prices, risk) and policy levers."""

from __future__ import annotations

from pydantic import Field, ValidationInfo, field_validator, model_validator

from repm.scenario.checks import SHARE_TOLERANCE, flagged, off_one
from repm.scenario.fields import (
    Block,
    CroreINR,
    Fraction,
    INRPerKg,
    Months,
    Multiplier,
    PositiveMonths,
    Tonnes,
    TonnesPerYear,
    _one_of,
    definition_of,
    path_years_mistakes,
)  # fmt: skip


class Trade(Block):
    """Import origins, their shares per material group, and their spare export capacity to India."""

    origins: list[str]
    shares: dict[str, dict[str, Fraction]] = Field(
        description="material group → origin → share of India's imports, the same every year "
        "(each group's shares sum to 1)",
    )
    share_paths: dict[str, dict[int, dict[str, Fraction]]] = Field(
        default_factory=dict,
        description="material group → year → origin → share, in place of the group's `shares`: "
        "each year's shares sum to 1 (an origin not named has 0), read linearly between the "
        "years and held flat beyond them",
    )
    spare: dict[str, dict[str, TonnesPerYear]] = Field(default_factory=dict)
    spare_grade_mix: dict[str, Fraction] | None = Field(
        None,
        description="grade mix of other origins' spare alloys and bare magnets (else the base "
        "year's bare-magnet mix)",
    )
    price_factor: dict[str, dict[str, Multiplier]] = Field(
        default_factory=dict,
        description="price of a material group from an origin, × the base price",
    )
    governance_risk: dict[str, Fraction] = Field(
        default_factory=dict,
        description="origin → political risk, 0 (stable) … 1, for the GeoPolRisk score",
    )
    world_production: dict[str, dict[str, Fraction]] = Field(
        default_factory=dict,
        description="material group → producing country → share of world output (HHI of supply)",
    )

    @model_validator(mode="after")
    def _check(self, info: ValidationInfo) -> Trade:
        GROUPS = definition_of(info).trade_groups
        if len(set(self.origins)) != len(self.origins) or not self.origins:
            raise ValueError("origins must be a non-empty list of unique names")
        for block_name, block in (
            ("shares", self.shares),
            ("spare", self.spare),
            ("price_factor", self.price_factor),
        ):
            for group, by_origin in block.items():
                if group not in GROUPS:
                    raise ValueError(
                        f"{block_name}.{group}: unknown material group; expected one of {', '.join(GROUPS)}"
                    )
                for o in by_origin:
                    if o not in self.origins:
                        raise ValueError(
                            f"{block_name}.{group}.{o}: unknown origin; expected one of the trade.origins"
                        )
        for o in self.governance_risk:
            if o not in self.origins:
                raise ValueError(
                    f"governance_risk.{o}: unknown origin; expected one of the trade.origins"
                )
        for group, by_country in self.world_production.items():
            if group not in GROUPS:
                raise ValueError(
                    f"world_production.{group}: unknown material group; expected one of {', '.join(GROUPS)}"
                )
            if flagged(sum(by_country.values()) > 1 + SHARE_TOLERANCE):
                raise ValueError(
                    f"world_production.{group}: shares add up to {sum(by_country.values()):.3g}; expected at most 1"
                )
        if self.spare_grade_mix is not None:
            grades = definition_of(info).grade_names
            bad = [
                f"spare_grade_mix.{g}: unknown grade; expected one of {', '.join(grades)}"
                for g in self.spare_grade_mix
                if g not in grades
            ]
            total = sum(self.spare_grade_mix.values())
            if not bad and flagged(off_one(total)):
                bad.append(f"spare_grade_mix: shares sum to {total:.6g}; expected 1")
            if bad:
                raise ValueError(
                    "; ".join(bad) + (f" ({len(bad)} mistakes)" if len(bad) > 1 else "")
                )
        # a group with a year path takes its shares from it (checked with the horizon:
        # `share_path_mistakes`)
        missing = [g for g in GROUPS if g not in self.shares and g not in self.share_paths]
        if missing:
            raise ValueError(
                f"shares: missing material group {missing[0]!r}; expected its shares here or "
                "a year path in share_paths"
            )
        for group, by_origin in self.shares.items():
            if group in self.share_paths:  # refused with the path (`share_path_mistakes`)
                continue
            total = sum(by_origin.values())
            if flagged(off_one(total)):
                raise ValueError(f"shares.{group}: shares sum to {total:.6g}; expected 1")
        return self


def share_path_mistakes(trade: Trade, groups, start: int, end: int) -> list[str]:
    """Every mistake in `trade.share_paths`, one line each: an unknown group or origin, a group
    given in `shares` too, a group without a year, a year's shares not summing to 1 (each
    year's must: the years between are read linearly, so they sum to 1 too), a year further
    than PATH_REACH from the horizon."""
    out = []
    for group, path in trade.share_paths.items():
        what = f"trade.share_paths.{group}"
        if group not in groups:
            out.append(f"{what}: unknown material group; expected one of {', '.join(groups)}")
            continue
        if group in trade.shares:
            out.append(
                f"{what}: given with trade.shares.{group}; expected one of them (a path replaces "
                f"the group's shares in every year: set trade.shares.{group} to null)"
            )
        if not path:
            out.append(f"{what}: no year given; expected year → origin → share")
        for year, by_origin in path.items():
            for o in by_origin:
                if o not in trade.origins:
                    out.append(
                        f"{what}.{year}.{o}: unknown origin; expected one of the trade.origins "
                        f"({', '.join(trade.origins)})"
                    )
            total = sum(by_origin.values())
            if flagged(off_one(total)):
                out.append(f"{what}.{year}: shares sum to {total:.6g}; expected 1")
        out.extend(path_years_mistakes(path, start, end, what))
    return out


class Policy(Block):
    """Policy levers: who is served first in a shortage, inventories held."""

    sector_priority: list[list[str]] = Field(default_factory=lambda: [["defence"]])
    stockpile: dict[str, Tonnes] = Field(
        default_factory=dict, description="strategic stockpile by material at the start, t"
    )
    working_stock_months: Months = Field(
        0.0, description="industry working stock of magnets and feed, months of current use"
    )
    sector_working_stock_months: dict[str, Months] = Field(
        default_factory=dict,
        description="months of bare magnets a sector's buyers hold where it differs from "
        "working_stock_months; each sector draws only on its own holding in a shortage",
    )
    magnet_stockpile_fit: Fraction = Field(
        1.0,
        description="share of a grade's shortfall a strategic stockpile of finished magnets can "
        "serve: magnets are machined for their application; oxide, metal and alloy serve any unit",
    )
    working_stock_refill_months: PositiveMonths = Field(
        3.0, description="months over which buyers rebuild working stock once supply returns"
    )
    max_origin_share: Fraction = Field(
        1.0, description="planner: max share of any one origin per material"
    )
    min_domestic_share: Fraction = Field(
        0.0, description="planner: min domestic output as a share of demand"
    )
    capex_budget: CroreINR | None = Field(None, description="planner: cap on capacity investment")
    allow_unmet: bool = Field(
        True, description="planner: may leave demand unmet (at unmet_penalty)"
    )
    unmet_penalty: INRPerKg = Field(0.0, description="planner: cost of a kg of unmet demand")

    @field_validator("sector_working_stock_months")
    @classmethod
    def _holding_sectors(cls, v: dict[str, float], info: ValidationInfo) -> dict[str, float]:
        sectors = definition_of(info).sectors
        for s in v:
            _one_of(s, sectors, "sector")
        return v

    @field_validator("sector_priority")
    @classmethod
    def _sectors(cls, v: list[list[str]], info: ValidationInfo) -> list[list[str]]:
        seen: set[str] = set()
        sectors = definition_of(info).sectors
        for tier in v:
            for s in tier:
                _one_of(s, sectors, "sector")
                if s in seen:
                    raise ValueError(f"sector {s!r} appears in two priority tiers")
                seen.add(s)
        return v
