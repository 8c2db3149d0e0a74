"""Stated limits on what a user may ask for, in one place: every front end (CLI, dashboard,
Python API) and the run store check against these, so the same value is refused the same way
everywhere (docs/architecture.md, errors)."""

from __future__ import annotations

# seeds key the Philox streams with 64 bits and are stored in the catalog's BIGINT column
MAX_SEED = 2**63 - 1
