"""Statistics used by the tables: Pearson correlation with r^2 and p."""

from __future__ import annotations

import math

import numpy as np
from scipy import stats


def pearson(x, y) -> dict[str, float]:
    """Pearson r, r^2, two-sided p and n; NaN where undefined (n < 3 or a constant input)."""
    x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    keep = ~(np.isnan(x) | np.isnan(y))
    x, y = x[keep], y[keep]
    n = len(x)
    if n < 3 or np.ptp(x) == 0 or np.ptp(y) == 0:
        return {"r": math.nan, "r2": math.nan, "p": math.nan, "n": n}
    r, p = stats.pearsonr(x, y)
    return {"r": float(r), "r2": float(r) ** 2, "p": float(p), "n": n}
