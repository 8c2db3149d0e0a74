"""Input uncertainty and global sensitivity (issue 14; docs/uncertainty.md).

ranges.py       every fact's range and distribution (sources, conflict groups, grade rule,
                lineage formulas, the scenario's `uncertainty:` overrides)
inputs.py       a scenario's uncertain inputs, draws → fact values, Philox parameter draws,
                `--group` names
evaluate.py     an output (unit_npv, an indicator by year) at given fact values
sensitivity.py  Sobol (Saltelli sampling, SALib) and Morris screening; uncertainty bands
"""

from repm.analyses.uncertainty.inputs import Inputs, philox_uniforms, resolve_groups
from repm.analyses.uncertainty.ranges import (
    Spread,
    check_lineage,
    fact_ranges,
    inverse_cdf,
    shipped_rule,
)

__all__ = [
    "Inputs", "Spread", "check_lineage", "fact_ranges", "inverse_cdf", "philox_uniforms",
    "resolve_groups", "shipped_rule",
]  # fmt: skip
