"""Work on a Dask cluster: `repm risk`'s chunks of draws and `repm sensitivity`/`uncertainty`'s
blocks of parameter sets go to a scheduler the same way — connect (or start a local process
cluster), submit, take each result as it finishes, and never hang on a dead worker."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from repm.errors import UserError

CONNECT_TIMEOUT_S = 20  # reaching a Dask scheduler
STALL_TIMEOUT_S = 600  # on a Dask scheduler, the longest wait for the next task to finish


def run_on(
    scheduler: str,
    tasks: Iterable,
    take: Callable[[int, Any], None],
    *,
    workers: int = 2,
    what: str = "chunk of draws",
    timeout: float = STALL_TIMEOUT_S,
) -> None:
    """Compute dask `tasks` (delayed objects) on `scheduler` — an address, or 'local' for a
    process cluster of `workers` — calling `take(i, result)` as task i finishes. `timeout`
    seconds without a task finished is an error (a dead worker would otherwise hang the run)."""
    try:
        from distributed import Client, as_completed
        from distributed import wait as dask_wait
    except ImportError as exc:  # pragma: no cover - distributed is a dependency
        raise RuntimeError("dask.distributed is not installed") from exc
    try:
        client = (
            Client(scheduler, timeout=CONNECT_TIMEOUT_S)
            if scheduler != "local"
            else Client(
                n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=None
            )
        )
    except (OSError, TimeoutError) as exc:
        raise UserError(
            f"cannot reach the Dask scheduler ({str(exc).splitlines()[0][:160]}); expected a "
            "running scheduler at that address",
            where="--scheduler",
        ) from None
    try:
        futures = client.compute(list(tasks))
        index = {f.key: i for i, f in enumerate(futures)}
        pending = set(futures)
        while pending:
            try:
                done, pending = dask_wait(pending, timeout=timeout, return_when="FIRST_COMPLETED")
            except TimeoutError:
                raise UserError(
                    f"no {what} finished in {timeout:g} s on {scheduler!r}: its workers are "
                    "gone or stuck; expected a scheduler with live workers",
                    where="--scheduler",
                ) from None
            for fut in as_completed(done):
                take(index[fut.key], fut.result())
    finally:
        client.close()
