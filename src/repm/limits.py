"""Stated limits on what a user may ask for, in one place: every front end (CLI, dashboard,
Python API) and the run store check against these, so the same value is refused the same way
everywhere (docs/architecture.md, errors)."""

from __future__ import annotations

# seeds key the Philox streams with 64 bits and are stored in the catalog's BIGINT column
MAX_SEED = 2**63 - 1

# stated maximums of the size options, the same in the CLI, the dashboard and the Python API
MAX_DRAWS = 100_000_000  # risk and stockpile (the scenario's risk.draws_max may lower it)
MAX_CHUNK = 100_000  # draws simulated together: a chunk's memory is held while it runs
MAX_WORKERS = 64  # threads, or local processes with --scheduler local
MAX_PLAN_SCENARIOS = 1_000  # each adds a copy of every year's flows to the LP
MAX_MONTECARLO = 100_000  # finance: price paths per unit (~50 ms each here)

# what a Monte Carlo holds, measured on the baseline (repm risk --draws 8000 with --chunk 100,
# 2000 and 8000: 46–64 KB more peak memory per draw in a chunk); each risk event adds to every
# draw in flight (the 80,000 aliased events: ~1.1 KB per event and draw)
BYTES_PER_DRAW_KEPT = 400  # per-draw summaries kept to the end for CVaR and quantiles
BYTES_PER_DRAW_IN_FLIGHT = 64 * 1024
BYTES_PER_EVENT_DRAW = 1_100
MEMORY_SHARE = 0.8  # of the memory available when the work starts


def available_memory() -> int | None:
    """Bytes of memory available now (None if it cannot be told)."""
    try:
        import psutil
    except ImportError:  # pragma: no cover - psutil comes with dask.distributed
        return None
    return int(psutil.virtual_memory().available)


def monte_carlo_bytes(draws: int, chunk: int, in_flight: int, events: int) -> int:
    """Peak memory a Monte Carlo of `draws` needs, `in_flight` chunks of `chunk` at a time."""
    at_once = min(draws, chunk * max(1, in_flight))
    per_draw = BYTES_PER_DRAW_IN_FLIGHT + BYTES_PER_EVENT_DRAW * events
    return draws * BYTES_PER_DRAW_KEPT + at_once * per_draw


def check_memory(draws: int, chunk: int, in_flight: int, events: int) -> None:
    """Refuse, before any work, a Monte Carlo that would not fit in the memory available."""
    _check_fits(
        monte_carlo_bytes(draws, chunk, in_flight, events),
        f"{draws:,} draws in chunks of {min(chunk, draws):,} ({in_flight} at a time, "
        f"{events} risk events)",
        "fewer draws, a smaller --chunk or fewer --workers",
    )


def check_pooled(samples: int, draws: int, years: int, arrays: int = 2) -> None:
    """Refuse, before any work, a `repm uncertainty --draws` run whose pooled unmet demand
    (samples × shock draws × years, kept for its percentiles, and the copy they are taken from;
    `arrays`: 3 with `--versus`, whose other scenario's draws are gathered while the first's
    are kept) would not fit in the memory available."""
    _check_fits(
        arrays * samples * draws * years * 8,
        f"{samples:,} samples × {draws:,} shock draws × {years} years of unmet demand, pooled "
        "for its percentiles,",
        "fewer --samples or --draws",
    )


def check_sets(draws_per_call: int, workers: int, events: int, most: int) -> None:
    """Refuse, before any work, parameter sets whose kernel calls (sets × shock draws each,
    `workers` at a time; `most` draws a call at most) would not fit in the memory available."""
    _check_fits(
        workers * draws_per_call * (BYTES_PER_DRAW_IN_FLIGHT + BYTES_PER_EVENT_DRAW * events),
        f"{draws_per_call:,} shock draws to a kernel call ({workers} at a time, {events} risk "
        "events)",
        "fewer --workers" if workers > 1 else f"fewer --draws (a call holds at most {most:,})",
    )


def _check_fits(need: int, what: str, expected: str) -> None:
    """A one-line error naming --draws when `need` bytes exceed MEMORY_SHARE of those free."""
    from repm.errors import UserError

    free = available_memory()
    if free is not None and need > MEMORY_SHARE * free:
        gib = 2**30
        raise UserError(
            f"{what} need about {need / gib:.1f} GiB and {free / gib:.1f} GiB is free; "
            f"expected {expected}",
            where="--draws",
        )
