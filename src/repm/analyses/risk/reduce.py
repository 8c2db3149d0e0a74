"""Per-draw summaries of chunks of draws, folded in draw order into the statistics risk reports
(sums, shortage counts, the sectors' worst tails), and CVaR."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np

UNMET_EPS = 1e-6  # t: below this a year counts as fully served (round-off)


@dataclass(frozen=True)
class Block:
    """One chunk's per-draw annual results (draws in order), as `run_block` returns them."""

    draw_ids: np.ndarray
    unmet: np.ndarray  # draw × year × sector, t
    short_months: np.ndarray  # draw × year
    tonne_years: np.ndarray  # draw × year × material (strategic stockpile held)
    released: np.ndarray  # draw × material: strategic stockpile released over the horizon, t
    max_residual: np.ndarray  # year: largest mass-balance residual over the block
    sector_short_months: np.ndarray  # draw × year × sector


@dataclass(frozen=True)
class DrawSummary:
    """A Monte Carlo run, reduced: per draw only what the metrics need, the rest already summed.

    Kept per draw (draw order): the total unmet demand by year (for quantiles, CVaR and
    P(shortage)), the horizon total (P(no shortage)), the holding cost by year and the stockpile
    released per material (stockpile sizing). Reduced over draws as the chunks come in, in draw
    order, with the same floating-point operations in the same order as over the whole array:
    months short, and by sector the share of draws short, the mean and the CVaR (from the worst
    draws only). So the figures are bit-identical to computing them from every draw's full
    results, and bit-identical for any chunking — while 10^6 draws need ~0.3 GB, not ~2 GB."""

    draws: int
    alpha: float  # the CVaR level the sector tails were kept for
    total: np.ndarray  # draw × year: unmet demand, all sectors, t
    horizon: np.ndarray  # draw: unmet demand over the horizon, t
    holding: np.ndarray  # draw × year: strategic stockpile holding cost, crore INR
    released: np.ndarray  # draw × material: strategic stockpile released over the horizon, t
    months_short: np.ndarray  # year: mean over draws
    sector_p_short: np.ndarray  # year × sector: share of draws with unmet demand
    sector_mean: np.ndarray  # year × sector: mean unmet demand, t
    sector_cvar: np.ndarray  # year × sector: CVaR_alpha of unmet demand, t
    max_residual: np.ndarray  # year: largest mass-balance residual over all draws
    sector_months_short: np.ndarray  # year × sector: mean over draws

    @cached_property
    def by_year(self) -> np.ndarray:
        """year × draw: `total` as one contiguous row a year, made once — the quantiles and the
        CVaR by year select along a row of contiguous memory, not every 12th value (NumPy's
        own partition of `total` along axis 0 copies it so each time, ~0.2 s for 10^6 draws)."""
        return np.ascontiguousarray(self.total.T)

    def quantiles(self, q, method: str = "linear") -> np.ndarray:
        """`np.quantile(self.total, q, axis=0, method=method)`, bit for bit (the same order
        statistics, the same interpolation), from `by_year`: quantile × year."""
        return np.quantile(self.by_year, q, axis=1, method=method)

    def cvar(self, alpha: float) -> np.ndarray:
        """`cvar(self.total, alpha)` by year, bit for bit, from `by_year` (the copy `cvar`
        makes of a C-ordered draw × year array is this one)."""
        n = self.total.shape[0]
        k = tail_size(alpha, n)
        if n <= k or not self.total.flags.c_contiguous:
            return cvar(self.total, alpha)
        worst = np.ascontiguousarray(largest_in_rows(self.by_year, k).T)  # k × year, as _largest
        return np.sort(worst, axis=0).mean(axis=0)


class Reduction:
    """Folds chunks (`Block`s, any arrival order) into a `DrawSummary`, in draw order.

    Sums over draws continue one sequence across chunks (the running sum is the first row of the
    next chunk's reduction): draws are added one after another in draw order — the order NumPy's
    `mean(axis=0)` over a draw × year array uses too, when there is more than one year. The
    sector CVaR keeps each year's k worst draws (k = ⌈(1 − alpha) n⌉, as `cvar`), drops the rest."""

    def __init__(
        self, draws: int, years: int, sectors: int, materials: int, hold, alpha: float = 0.95
    ) -> None:
        self.n, self.alpha, self.hold = draws, alpha, hold
        self.k = tail_size(alpha, draws)
        self.total = np.empty((draws, years))
        self.horizon = np.empty(draws)
        self.holding = np.empty((draws, years))
        self.released = np.empty((draws, materials))
        self.short_sum: np.ndarray | None = None  # year
        self.sector_short_sum: np.ndarray | None = None  # year × sector
        self.sector_sum: np.ndarray | None = None  # year × sector
        self.sector_count = np.zeros((years, sectors), dtype=np.int64)
        # candidates for each year × sector's k worst draws: a row per year × sector (so the
        # partition that keeps the k largest runs along contiguous memory), filled chunk by chunk
        # and cut back to k when full — each value is copied a bounded number of times
        self.cap = 3 * self.k
        self.worst = np.empty((years * sectors, self.cap))
        self.filled = 0  # the candidates of the rows without a threshold (all the same count)
        # a row whose k worst so far are all above 0 keeps only candidates ≥ the least of them
        # (its threshold, > 0; 0: none yet), each such row with a count of its own: its k worst
        # are then the same values whenever it is cut (`_Tails`' docstring)
        self.thr = np.zeros(years * sectors)
        self.count = np.zeros(years * sectors, dtype=np.int64)
        self.max_residual = np.full(years, -np.inf)
        self.done = 0
        self.pending: dict[int, Block] = {}

    @staticmethod
    def _continue(acc: np.ndarray | None, rows: np.ndarray) -> np.ndarray:
        if acc is None:
            return rows.sum(axis=0)
        return np.concatenate([acc[None], rows]).sum(axis=0)

    def add(self, block: Block) -> None:
        self.pending[int(block.draw_ids[0])] = block
        while self.done in self.pending:
            self._fold(self.pending.pop(self.done))

    def _fold(self, b: Block) -> None:
        lo, hi = self.done, self.done + len(b.draw_ids)
        if not np.array_equal(b.draw_ids, np.arange(lo, hi)):
            raise ValueError("chunks must cover draws 0 … n − 1 in consecutive ranges")
        u = b.unmet
        self.total[lo:hi] = sum_last(u)
        self.horizon[lo:hi] = u.sum(axis=(1, 2))
        self.holding[lo:hi] = self.hold(b.tonne_years)
        self.released[lo:hi] = b.released
        self.short_sum = self._continue(self.short_sum, b.short_months)
        self.sector_short_sum = self._continue(self.sector_short_sum, b.sector_short_months)
        self.sector_sum = self._continue(self.sector_sum, u)
        self.sector_count += (u > UNMET_EPS).sum(axis=0)
        self._tails(u.reshape(len(u), -1).T)  # year·sector × draw
        self.max_residual = np.maximum(self.max_residual, b.max_residual)
        self.done = hi

    def _tails(self, rows: np.ndarray) -> None:
        """Add a chunk's values (year·sector × draw) to each row's candidates for its k worst.

        A row without a threshold takes them all, and all such rows are cut back to their k
        largest together when the buffer is full, as the fold always did: with fewer than k
        values above 0, which of several equal zeros (0.0 or −0.0) a cut keeps depends on
        what it cut before, so those rows are cut exactly as before. A cut that leaves a row's
        k largest all above 0 gives it a threshold, the least of them (the k-th largest so
        far): from then on it takes only values not below it (NaN too) — a value below can
        never be among its k largest — and is cut on its own when its part of the buffer is
        full, its threshold raised each time. Its k largest are then the same values
        whichever values below them were dropped, and whenever it was cut (all above 0, equal
        values have equal bits), so the tails are bit for bit the fold's without thresholds
        (tests/test_fold_tails.py), with ~4× fewer candidates copied and cut."""
        k, n = self.k, rows.shape[1]
        free = self.thr == 0
        if self.filled + n > self.cap:
            if self.filled > k:
                for i in np.flatnonzero(free):
                    least = self._cut(i, self.filled)  # NaN if any kept is: no threshold
                    if least > 0:
                        self.thr[i], self.count[i] = least, k
                self.filled = k
                free = self.thr == 0
            self._room(self.filled + n)
        held = np.flatnonzero(~free)
        if not len(held):  # as before a row has a threshold
            self.worst[:, self.filled : self.filled + n] = rows
            self.filled += n
            return
        rows = np.ascontiguousarray(rows)  # then rows are taken apart
        idx = np.flatnonzero(free)
        if len(idx):
            self.worst[idx, self.filled : self.filled + n] = rows[idx]
        self.filled += n
        sub = rows[held]
        take = ~(sub < self.thr[held, None])  # not below the threshold, or NaN
        many = take.sum(axis=1)
        for j in np.flatnonzero(self.count[held] + many > self.cap):  # full: cut to k first
            i = held[j]
            least = self._cut(i, self.count[i])
            self.count[i] = k
            if least > self.thr[i]:
                self.thr[i] = least
            self._room(k + many[j])
        values, o = sub[take], 0  # row by row, draws in order
        for i, m in zip(held.tolist(), many.tolist(), strict=True):
            c = self.count[i]
            self.worst[i, c : c + m] = values[o : o + m]
            self.count[i], o = c + m, o + m

    def _cut(self, i: int, width: int) -> float:
        """Row i's first `width` candidates cut back to its k largest (its first k); returns
        the least of them (NaN if any is NaN)."""
        kept = largest_in_rows(self.worst[i : i + 1, :width], self.k)[0]
        self.worst[i, : self.k] = kept
        return float(kept.min())

    def _room(self, need: int) -> None:
        """The buffer grown to hold `need` candidates a row (a chunk larger than it)."""
        if need > self.cap:
            grown = np.empty((len(self.worst), need))
            grown[:, : self.cap] = self.worst
            self.worst, self.cap = grown, need

    def result(self) -> DrawSummary:
        if self.done != self.n or self.pending:
            raise ValueError(f"{self.done} of {self.n} draws reduced")
        # each sector's k worst, sorted, as the (k × year) array `cvar` would take its mean of:
        # NumPy's summation order depends on the layout, so the layout is the same too
        Y, S = self.sector_count.shape
        kept = self.worst[:, : self.filled]
        if self.filled > self.k:  # every row's k largest, each from its own candidates
            kept = np.empty((len(self.worst), self.k))
            for i in range(len(kept)):
                width = self.count[i] if self.thr[i] > 0 else self.filled
                kept[i] = largest_in_rows(self.worst[i : i + 1, :width], self.k)[0]
        worst = np.sort(kept, axis=1).reshape(Y, S, -1)  # year × sector × k, ascending
        tail = np.stack([np.ascontiguousarray(worst[:, s].T).mean(axis=0) for s in range(S)], 1)
        return DrawSummary(
            draws=self.n,
            alpha=self.alpha,
            total=self.total,
            horizon=self.horizon,
            holding=self.holding,
            released=self.released,
            months_short=self.short_sum / self.n,
            sector_p_short=self.sector_count / self.n,
            sector_mean=self.sector_sum / self.n,
            sector_cvar=tail,
            max_residual=self.max_residual,
            sector_months_short=self.sector_short_sum / self.n,
        )


def _largest(x: np.ndarray, k: int) -> np.ndarray:
    """The k largest values along axis 0, for every other index (unordered)."""
    n = x.shape[0]
    if n <= k:
        return x
    if not x.flags.c_contiguous:  # partition keeps its input's memory order, and the mean that
        return np.partition(x, n - k, axis=0)[n - k :]  # follows sums in that order
    rows = np.ascontiguousarray(x.reshape(n, -1).T)
    # C order, as partition's result is for a C-ordered input
    return np.ascontiguousarray(largest_in_rows(rows, k).T).reshape((k,) + x.shape[1:])


def largest_in_rows(rows: np.ndarray, k: int) -> np.ndarray:
    """The k largest values of each row (rows × n, k ≤ n), unordered: the same values as
    `np.partition(rows, n - k, axis=1)[:, n - k:]`, found without partitioning the zeros.

    Unmet demand is exactly 0 in most draws, and NumPy's partition slows ~10–20× on a row of
    mostly equal values (its quickselect makes little progress inside a run of ties: ~1.9 s for
    a 10^6-draw run's 84 rows of 150,000 candidates, against ~0.1 s here, `bench/fold.py`). So
    each row's values above 0 (and NaN, which partition ranks last) are selected among
    themselves, and only when they are fewer than k is the rest taken from the others (then
    mostly zeros: when all of them are 0.0, bit for bit, the rest of the k are 0.0 without
    partitioning them, ~1.6 ms a row of 150,000) — the same multiset. A long run of equal
    values above 0 would still be slow; unmet demand has none."""
    r, n = rows.shape
    if not 1 <= k <= n:
        raise ValueError(f"k = {k}; expected 1 to the row length {n}")
    out = np.empty((r, k))
    for i in range(r):
        row = rows[i]
        up = ~(row <= 0.0)  # above 0, or NaN
        hi = row[up]
        if len(hi) >= k:
            out[i] = np.partition(hi, len(hi) - k)[len(hi) - k :]
        else:
            rest = row[~up]
            need = k - len(hi)
            out[i, : len(hi)] = hi
            if rest.view(np.uint64).any():  # some value below 0, or −0.0
                out[i, len(hi) :] = np.partition(rest, len(rest) - need)[len(rest) - need :]
            else:  # all 0.0, bit for bit: what the partition would give, without its ~1.6 ms
                out[i, len(hi) :] = 0.0
    return out


def sum_last(a: np.ndarray) -> np.ndarray:
    """`a.sum(axis=-1)` bit for bit, ~4× faster for a last axis of 2–7 (grades, sectors). NumPy
    adds fewer than 8 values from the left and that sum to its identity 0.0 (−0.0 comes out
    0.0), which costs it ~15 ns a row; here the same additions run along whole columns."""
    n = a.shape[-1]
    if not 1 <= n < 8 or a.dtype != np.float64:
        return a.sum(axis=-1)
    acc = a[..., 0].copy()
    for i in range(1, n):
        acc += a[..., i]
    acc += 0.0
    return acc


def tail_size(alpha: float, n: int) -> int:
    """k = ⌈(1 − alpha) n⌉ outcomes in the tail, at least one. Rounded to 9 decimals first:
    (1 − 0.95) × 100 is 5.000000000000004 in floating point, and its ceiling would be 6."""
    return max(1, int(np.ceil(round((1 - alpha) * n, 9))))


def cvar(x: np.ndarray, alpha: float = 0.95, axis: int = 0) -> np.ndarray:
    """Mean of the worst (1 − alpha) share of outcomes along `axis` (at least one outcome)."""
    k = tail_size(alpha, x.shape[axis])
    worst = np.sort(_largest(np.moveaxis(x, axis, 0), k), axis=0)  # the tail of a full sort
    return worst.mean(axis=0)
