"""Wall-clock timing that knows when it cannot be trusted (a shared, busy machine).

A window of batch-1 latencies is *stable* when it has enough runs, its interquartile range is a
small fraction of its median, and its fastest run is not far below the median (a minimum of 0.6 ms
under a median of 110.8 ms says the machine was busy, not that the model got 185x faster). An
unstable window is timed again, up to ``max_rounds`` windows; the most stable one is kept and, when
none passes, it is flagged ``noisy`` with the reasons, which the report prints beside the figure.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field
from typing import Callable

import numpy as np

MIN_RUNS = 30
MAX_IQR_OVER_MEDIAN = 0.20
MAX_MEDIAN_OVER_MIN = 2.0


@dataclass
class Stability:
    stable: bool
    runs: int
    iqr_over_median: float
    median_over_min: float
    reasons: list[str] = field(default_factory=list)
    rounds: int = 1

    @property
    def noisy(self) -> bool:
        return not self.stable

    def to_dict(self) -> dict:
        return asdict(self) | {"noisy": self.noisy}

    def note(self) -> str:
        return "stable" if self.stable else "noisy: " + "; ".join(self.reasons)


def assess(lat_ms, *, min_runs: int = MIN_RUNS, max_iqr: float = MAX_IQR_OVER_MEDIAN,
           max_median_over_min: float = MAX_MEDIAN_OVER_MIN) -> Stability:
    """Is this window of latencies (ms) a figure worth printing?"""
    lat = np.asarray(lat_ms, float)
    if lat.size == 0:
        return Stability(False, 0, float("inf"), float("inf"), ["no timed runs"])
    q25, med, q75 = np.percentile(lat, [25, 50, 75])
    lo = float(lat.min())
    iqr = float((q75 - q25) / med) if med > 0 else float("inf")
    ratio = float(med / lo) if lo > 0 else float("inf")
    reasons = []
    if lat.size < min_runs:
        reasons.append(f"only {lat.size} runs (< {min_runs})")
    if iqr > max_iqr:
        reasons.append(f"spread: interquartile range {100 * iqr:.0f} % of the median (> {100 * max_iqr:.0f} %)")
    if ratio > max_median_over_min:
        reasons.append(f"median {med:.3g} ms is {ratio:.1f}x the fastest run {lo:.3g} ms (> {max_median_over_min:g}x)")
    return Stability(not reasons, int(lat.size), iqr, ratio, reasons)


def time_until_stable(run: Callable[[], object], *, warmup: int = 3, repeats: int = MIN_RUNS, max_rounds: int = 3,
                      min_runs: int = MIN_RUNS, clock: Callable[[], float] = time.perf_counter
                      ) -> tuple[list[float], Stability]:
    """Warm up, then time windows of ``repeats`` calls until one is stable (at most ``max_rounds``).

    Returns the kept window's latencies (ms) and its stability (``rounds`` = windows timed)."""
    for _ in range(warmup):
        run()
    if repeats < min_runs:  # another window cannot cure "too few runs"
        max_rounds = 1
    best: tuple[list[float], Stability] | None = None
    for rnd in range(1, max(1, max_rounds) + 1):
        lat = []
        for _ in range(max(1, repeats)):
            t0 = clock()
            run()
            lat.append((clock() - t0) * 1e3)
        st = assess(lat, min_runs=min_runs)
        if best is None or (st.stable, -st.iqr_over_median) > (best[1].stable, -best[1].iqr_over_median):
            best = (lat, st)
        if st.stable:
            break
    best[1].rounds = rnd
    return best
