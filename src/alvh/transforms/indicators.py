"""Technical indicators with TA-Lib's exact conventions, fast on many series at once.

Every indicator is an exact port of TA-Lib 0.6+/0.8 (the test oracle), computed by one compiled
pass over each series (numba), parallel across series:

- **EMA(n)**: seeded at index ``start + n - 1`` with the simple mean of ``x[start:start+n]``, then
  ``y_t = y_{t-1} + α (x_t − y_{t-1})`` with ``α = 2 / (n + 1)``.
- **MACD(fast, slow, signal)** on a price series ``x`` (VIX close, index points):
  ``macd = EMA_fast − EMA_slow`` where the fast EMA's seed window *ends* where the slow one's does
  (TA-Lib seeds it with the mean of ``x[slow-fast : slow]``); ``signal = EMA_signal(macd)`` seeded
  with the mean of the first ``signal`` MACD values; ``hist = macd − signal``. The first value is
  at index ``slow + signal − 2`` (33 for 12/26/9); earlier rows are null.
- **RSI(n)** with Wilder smoothing: average gain/loss seeded with the simple mean of the first
  ``n`` changes, then ``avg_t = (avg_{t-1} (n − 1) + v_t) / n``; ``RSI = 100 · gain / (gain +
  loss)``, 0.0 unless gain + loss > 0 (TA-Lib's rule). First value at index ``n``.

Like TA-Lib's Python wrapper, leading NaN/nulls are skipped (the series starts at its first value);
a NaN inside a series propagates to every later output, as in TA-Lib. Periods must be ≥ 1 (≥ 2 for
EMA/RSI smoothing) and ``fast < slow``; anything else raises ``ValueError``.
"""

from __future__ import annotations

import math

import numba as nb
import numpy as np
import polars as pl

# 'contract' lets LLVM fuse multiply-adds (FMA): results differ from TA-Lib's by rounding only
# (≤ 1e-13 here), far inside the 1e-9 contract; no flag that assumes away NaN is used.
# TA-Lib (C 0.6+): RSI is computed only when average gain + loss > 0, else 0.0 — which also gives
# 0.0 (not NaN) after a NaN inside the series, as TA-Lib does.


def check_macd_periods(fast: int, slow: int, signal: int) -> None:
    """Raise ``ValueError`` unless 2 ≤ fast < slow and signal ≥ 1."""
    for name, p in (("fast", fast), ("slow", slow), ("signal", signal)):
        if not isinstance(p, int | np.integer) or p < 1:
            raise ValueError(f"MACD {name} period must be a positive integer, got {p!r}")
    if fast < 2 or fast >= slow:
        raise ValueError(f"MACD needs 2 <= fast < slow, got fast={fast}, slow={slow}")


def check_period(name: str, n: int) -> None:
    if not isinstance(n, int | np.integer) or n < 2:
        raise ValueError(f"{name} period must be an integer >= 2, got {n!r}")


@nb.njit(cache=True, nogil=True, fastmath={"contract"})
def _first_valid(x: np.ndarray, lo: int, hi: int) -> int:
    for i in range(lo, hi):
        if not math.isnan(x[i]):
            return i
    return hi


@nb.njit(cache=True, nogil=True, fastmath={"contract"})
def _macd_one(x, lo, hi, fast, slow, signal, out_m, out_s, out_h):
    for i in range(lo, hi):
        out_m[i] = np.nan
        out_s[i] = np.nan
        out_h[i] = np.nan
    b = _first_valid(x, lo, hi)
    n = hi - b
    lookback = slow + signal - 2
    if n <= lookback:
        return
    kf = 2.0 / (fast + 1)
    ks = 2.0 / (slow + 1)
    kg = 2.0 / (signal + 1)
    # seeds: slow = mean(x[b : b+slow]); fast = mean(x[b+slow-fast : b+slow])
    ss = 0.0
    for i in range(b, b + slow):
        ss += x[i]
    ema_s = ss / slow
    sf = 0.0
    for i in range(b + slow - fast, b + slow):
        sf += x[i]
    ema_f = sf / fast
    # MACD values from index b+slow-1; the signal seed is the mean of the first `signal` of them
    start = b + slow - 1
    macd_seed_sum = ema_f - ema_s
    first_macd = np.empty(signal)
    first_macd[0] = ema_f - ema_s
    for j in range(1, signal):
        i = start + j
        ema_f = ema_f + kf * (x[i] - ema_f)
        ema_s = ema_s + ks * (x[i] - ema_s)
        first_macd[j] = ema_f - ema_s
        macd_seed_sum += first_macd[j]
    sig = macd_seed_sum / signal
    i = start + signal - 1
    m = first_macd[signal - 1]
    out_m[i] = m
    out_s[i] = sig
    out_h[i] = m - sig
    for i in range(start + signal, hi):
        ema_f = ema_f + kf * (x[i] - ema_f)
        ema_s = ema_s + ks * (x[i] - ema_s)
        m = ema_f - ema_s
        sig = sig + kg * (m - sig)
        out_m[i] = m
        out_s[i] = sig
        out_h[i] = m - sig


@nb.njit(parallel=True, cache=True, nogil=True, fastmath={"contract"})
def _macd_groups(x, offsets, fast, slow, signal):
    n = x.shape[0]
    out_m = np.empty(n)
    out_s = np.empty(n)
    out_h = np.empty(n)
    for g in nb.prange(offsets.shape[0] - 1):
        _macd_one(x, offsets[g], offsets[g + 1], fast, slow, signal, out_m, out_s, out_h)
    return out_m, out_s, out_h


@nb.njit(cache=True, nogil=True, fastmath={"contract"})
def _rsi_one(x, lo, hi, period, out):
    for i in range(lo, hi):
        out[i] = np.nan
    b = _first_valid(x, lo, hi)
    if hi - b <= period:
        return
    gain = 0.0
    loss = 0.0
    for i in range(b + 1, b + period + 1):
        d = x[i] - x[i - 1]
        if d > 0:
            gain += d
        else:
            loss -= d
    gain /= period
    loss /= period
    i = b + period
    tot = gain + loss
    out[i] = 100.0 * gain / tot if tot > 0.0 else 0.0
    _rsi_steps(x, b + period + 1, hi, period, gain, loss, out)


@nb.njit(cache=True, nogil=True, fastmath={"contract"})
def _rsi_steps(x, lo, hi, period, gain, loss, out):
    """Wilder updates for indices [lo, hi); returns the final (gain, loss). Branch-free: a NaN
    change lands in ``loss`` as in TA-Lib (its ``if (d < 0)`` test is false for NaN)."""
    keep = (period - 1) / period
    inv = 1.0 / period
    for i in range(lo, hi):
        d = x[i] - x[i - 1]
        up = d if d > 0.0 else 0.0
        down = 0.0 if d > 0.0 else -d
        gain = gain * keep + up * inv
        loss = loss * keep + down * inv
        tot = gain + loss
        out[i] = 100.0 * gain / tot if tot > 0.0 else 0.0
    return gain, loss


@nb.njit(parallel=True, cache=True, nogil=True, fastmath={"contract"})
def _rsi_groups(x, offsets, period):
    out = np.empty(x.shape[0])
    for g in nb.prange(offsets.shape[0] - 1):
        _rsi_one(x, offsets[g], offsets[g + 1], period, out)
    return out


@nb.njit(cache=True, nogil=True, fastmath={"contract"})
def _ema_one(x, lo, hi, period, out):
    for i in range(lo, hi):
        out[i] = np.nan
    b = _first_valid(x, lo, hi)
    if hi - b < period:
        return
    s = 0.0
    for i in range(b, b + period):
        s += x[i]
    e = s / period
    k = 2.0 / (period + 1)
    out[b + period - 1] = e
    for i in range(b + period, hi):
        e = e + k * (x[i] - e)
        out[i] = e


@nb.njit(parallel=True, cache=True, nogil=True, fastmath={"contract"})
def _ema_groups(x, offsets, period):
    out = np.empty(x.shape[0])
    for g in nb.prange(offsets.shape[0] - 1):
        _ema_one(x, offsets[g], offsets[g + 1], period, out)
    return out


@nb.njit(cache=True, nogil=True, fastmath={"contract"})
def _run_starts(codes):
    n = codes.shape[0]
    out = np.empty(n + 1, dtype=np.int64)
    k = 0
    for i in range(n):
        if i == 0 or codes[i] != codes[i - 1]:
            out[k] = i
            k += 1
    out[k] = n
    return out[: k + 1]


def _as_float(values: np.ndarray | pl.Series) -> np.ndarray:
    if isinstance(values, pl.Series):
        if values.dtype != pl.Float64:
            values = values.cast(pl.Float64)
        if values.null_count():
            values = values.fill_null(np.nan)
        values = values.to_numpy()  # zero-copy for a chunk of Float64 without nulls
    return np.ascontiguousarray(values, dtype=np.float64)


def _offsets(n: int, offsets: np.ndarray | None) -> np.ndarray:
    if offsets is None:
        return np.array([0, n], dtype=np.int64)
    return np.ascontiguousarray(offsets, dtype=np.int64)


def _null(a: np.ndarray, name: str) -> pl.Series:
    return pl.Series(name, a, nan_to_null=True)


def macd_arrays(
    values: np.ndarray | pl.Series,
    offsets: np.ndarray | None = None,
    fast: int = 12,
    slow: int = 26,
    signal: int = 9,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """MACD, signal and histogram (NaN during warm-up) of one or many concatenated series.

    ``offsets`` marks series boundaries in ``values`` (``[0, n1, n1+n2, ..., len]``); each series
    is computed independently, in parallel.
    """
    check_macd_periods(fast, slow, signal)
    x = _as_float(values)
    return _macd_groups(x, _offsets(len(x), offsets), fast, slow, signal)


def rsi_array(values: np.ndarray | pl.Series, offsets: np.ndarray | None = None, period: int = 14) -> np.ndarray:
    """Wilder RSI (0–100, NaN during warm-up) of one or many concatenated series."""
    check_period("RSI", period)
    x = _as_float(values)
    return _rsi_groups(x, _offsets(len(x), offsets), period)


def ema_array(values: np.ndarray | pl.Series, offsets: np.ndarray | None = None, period: int = 12) -> np.ndarray:
    """TA-Lib EMA (SMA-seeded) of one or many concatenated series."""
    check_period("EMA", period)
    x = _as_float(values)
    return _ema_groups(x, _offsets(len(x), offsets), period)


def group_offsets(groups: pl.Series) -> np.ndarray:
    """Boundaries ``[0, ..., len]`` of runs of equal values in a column sorted by group."""
    codes = groups.to_numpy() if groups.dtype.is_integer() else groups.rle_id().to_numpy()
    return _run_starts(np.ascontiguousarray(codes))


def macd_rsi_arrays(
    values: np.ndarray | pl.Series,
    offsets: np.ndarray | None = None,
    fast: int = 12,
    slow: int = 26,
    signal: int = 9,
    period: int = 14,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """MACD, signal, histogram and RSI of the same series in one pass per series."""
    check_macd_periods(fast, slow, signal)
    check_period("RSI", period)
    x = _as_float(values)
    off = _offsets(len(x), offsets)
    m, sg, h = _macd_groups(x, off, fast, slow, signal)
    return m, sg, h, _rsi_groups(x, off, period)


def _sorted_groups(df: pl.DataFrame, by: str | None, order_by: str | None) -> tuple[pl.DataFrame, np.ndarray | None]:
    """``df`` sorted by ``(by, order_by)`` where given, and the group boundaries of ``by``."""
    keys = [k for k in (by, order_by) if k]
    out = df.sort(keys) if keys else df
    return out, (group_offsets(out[by]) if by else None)


def add_macd(
    df: pl.DataFrame,
    value: str,
    by: str | None = None,
    fast: int = 12,
    slow: int = 26,
    signal: int = 9,
    order_by: str | None = None,
) -> pl.DataFrame:
    """Add ``macd, macd_signal, macd_hist`` (null during warm-up) computed per ``by`` group.

    Rows are sorted by ``(by, order_by)`` first when those are given; the result keeps that order.
    """
    out, offsets = _sorted_groups(df, by, order_by)
    m, s, h = macd_arrays(out[value], offsets, fast, slow, signal)
    return out.with_columns(_null(m, "macd"), _null(s, "macd_signal"), _null(h, "macd_hist"))


def add_rsi(
    df: pl.DataFrame,
    value: str,
    by: str | None = None,
    period: int = 14,
    order_by: str | None = None,
    name: str = "rsi",
) -> pl.DataFrame:
    """Add Wilder RSI of ``value`` per ``by`` group as column ``name``."""
    out, offsets = _sorted_groups(df, by, order_by)
    return out.with_columns(_null(rsi_array(out[value], offsets, period), name))


def macd_expr(x: pl.Expr, fast: int = 12, slow: int = 26, signal: int = 9) -> pl.Expr:
    """MACD as a Polars expression returning a struct ``{macd, macd_signal, macd_hist}``.

    Usable on one series or per group with ``.over(symbol)`` (order inside a group = row order).
    """
    check_macd_periods(fast, slow, signal)

    def f(s: pl.Series) -> pl.Series:
        m, sg, h = macd_arrays(s, None, fast, slow, signal)
        return pl.DataFrame([_null(m, "macd"), _null(sg, "macd_signal"), _null(h, "macd_hist")]).to_struct(s.name)

    return x.map_batches(
        f,
        return_dtype=pl.Struct({"macd": pl.Float64, "macd_signal": pl.Float64, "macd_hist": pl.Float64}),
    )


def rsi_expr(x: pl.Expr, period: int = 14) -> pl.Expr:
    """Wilder RSI as a Polars expression (``.over(symbol)`` for many series)."""
    check_period("RSI", period)
    return x.map_batches(lambda s: _null(rsi_array(s, None, period), s.name), return_dtype=pl.Float64)


def macd_cross(hist: pl.Expr) -> pl.Expr:
    """+1 on the day ``hist`` turns from ≤ 0 to > 0, −1 from ≥ 0 to < 0, else 0 (Int8).

    The first day with a histogram (no previous value) is 0.
    """
    prev = hist.shift(1)
    return (
        pl.when(prev.is_null() | hist.is_null())
        .then(0)
        .when((prev <= 0) & (hist > 0))
        .then(1)
        .when((prev >= 0) & (hist < 0))
        .then(-1)
        .otherwise(0)
        .cast(pl.Int8)
    )


def ad_line(advances: pl.Expr, declines: pl.Expr) -> pl.Expr:
    """Cumulative advance/decline line: ``ad_t = ad_{t-1} + advances_t − declines_t``, from 0."""
    return (advances - declines).cum_sum()
