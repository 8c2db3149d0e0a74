"""Analyses on top of the engine: the Monte Carlo and stockpile sizing (risk), the least-cost plan
(optimize) and scheme unit finance (finance)."""
