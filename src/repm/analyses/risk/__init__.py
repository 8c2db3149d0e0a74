"""Monte Carlo of supply shocks: chunks of draws through the one engine, reduced once.

Each chunk samples its own draws by index (counter-based, so a draw's path is the same in any
chunk), runs `simulate`, and keeps only per-draw annual summaries (unmet by sector, months
short, stockpile tonne-years, the stockpile gap). Chunks run on Dask — the local scheduler by
default, a `dask.distributed` cluster when an address is given — and are concatenated in draw
order before any statistic is computed, so the numbers are bit-identical however the work is cut.
"""

from repm.analyses.risk.draws import chunks, run_block, run_draws
from repm.analyses.risk.measures import (
    UNMET_EPS,
    VEHICLE_SECTORS,
    holding_cost,
    metrics,
    p_no_shortage,
)
from repm.analyses.risk.reduce import Block, DrawSummary, Reduction, cvar, tail_size
from repm.analyses.risk.stockpile import (
    UNLIMITED,
    StockpileResult,
    size_stockpile,
    sized_materials,
)

__all__ = [
    "UNLIMITED", "UNMET_EPS", "VEHICLE_SECTORS", "Block", "DrawSummary", "Reduction",
    "StockpileResult", "chunks", "cvar", "holding_cost", "metrics", "p_no_shortage", "run_block",
    "run_draws", "size_stockpile", "sized_materials", "tail_size",
]  # fmt: skip
