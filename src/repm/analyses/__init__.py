"""Analyses on top of the engine: the least-cost plan (optimize) and scheme unit finance (finance);
the Monte Carlo and stockpile sizing are in repm.risk."""
