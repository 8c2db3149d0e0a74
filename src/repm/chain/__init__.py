"""The compiled chain: a validated scenario as dense, labelled arrays (`compile_chain` → `Chain`)."""

from repm.chain.chain import Chain
from repm.chain.compile import compile_chain
from repm.chain.demand import HISTORY_YEARS, lifetime_pmf

__all__ = ["HISTORY_YEARS", "Chain", "compile_chain", "lifetime_pmf"]
