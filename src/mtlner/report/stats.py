"""Statistics used by the tables: Pearson correlation, paired bootstrap over test documents,
and Holm's correction for multiple comparisons.

Significance of a difference in entity-level F1 between two systems A and B on the same test
set (MTL vs STL, or one ablation level vs 0.0) is tested with a paired bootstrap over test
DOCUMENTS: each round draws the test documents with replacement, both systems are scored on
the same draw, and the statistic is F1(A) - F1(B). F1 is computed from counts summed over the
drawn documents (entity-level F1 is not a mean of per-document scores).

The two-sided p-value is the share of rounds whose difference lies at least as far from the
observed difference as the observed difference lies from 0 (the bootstrap distribution shifted
to the null, as in Koehn 2004 / Berg-Kirkpatrick et al. 2012), with the usual +1 correction:
``p = (1 + #{|d_b - d| >= |d|}) / (1 + rounds)``. Identical systems give p = 1.

Several seeds: the documents are drawn ONCE per round and shared by every seed, and the
statistic is the difference of the seed-mean F1s, ``mean_s F1(A_s) - mean_s F1(B_s)``. This is
one test of the quantity the tables report (mean over seeds), paired by document across seeds,
rather than an average of per-seed p-values (which is not a p-value).
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
from scipy import stats

from mtlner.errors import UserError
from mtlner.training.metrics import entity_counts

DOCSTART = "-DOCSTART-"


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


# --------------------------------------------------------------------------- predictions


def read_predictions(path: str | Path) -> list[tuple[list[list[str]], list[list[str]]]]:
    """Read a ``predictions/<task>.test.tsv`` file (``token gold pred``, ``-DOCSTART-`` lines
    between documents) into one ``(gold sentences, predicted sentences)`` pair per document."""
    path = Path(path)
    try:
        lines = path.read_text(encoding="utf-8").split("\n")  # not splitlines(): a token may hold NEL, U+2028
    except OSError as err:
        raise UserError(f"cannot read predictions {path}: {err}", hint="rerun the training job that wrote it") from err
    docs: list[tuple[list[list[str]], list[list[str]]]] = []
    gold_sent: list[str] = []
    pred_sent: list[str] = []

    def end_sentence() -> None:
        if gold_sent:
            if not docs:
                docs.append(([], []))
            docs[-1][0].append(list(gold_sent))
            docs[-1][1].append(list(pred_sent))
            gold_sent.clear()
            pred_sent.clear()

    for number, line in enumerate(lines, 1):
        if not line.strip():
            end_sentence()
            continue
        columns = line.split("\t")
        if columns[0] == DOCSTART:
            end_sentence()
            docs.append(([], []))
            continue
        if len(columns) < 3:
            raise UserError(
                f"{path}:{number}: expected 'token<TAB>gold<TAB>predicted', got {line!r}",
                hint="rerun the training job that wrote it",
            )
        gold_sent.append(columns[-2])
        pred_sent.append(columns[-1])
    end_sentence()
    docs = [d for d in docs if d[0]]
    if not docs:
        raise UserError(f"{path} holds no sentences", hint="rerun the training job that wrote it")
    return docs


def document_counts(path: str | Path) -> tuple[np.ndarray, list[tuple[str, ...]]]:
    """Entity-level (tp, predicted, gold) per document, shape (documents, 3), and the gold
    tags of each document (to check that two systems were scored on the same test set)."""
    rows, gold_keys = [], []
    for gold, pred in read_predictions(path):
        c = entity_counts(gold, pred)
        rows.append((c.tp, c.predicted, c.gold))
        gold_keys.append(tuple("/".join(s) for s in gold))
    return np.asarray(rows, dtype=np.int64), gold_keys


def f1_from_counts(counts: np.ndarray) -> np.ndarray:
    """F1 from (..., 3) arrays of (tp, predicted, gold); 0 where undefined, as in metrics."""
    counts = np.asarray(counts, dtype=float)
    tp, predicted, gold = counts[..., 0], counts[..., 1], counts[..., 2]
    denominator = predicted + gold
    with np.errstate(invalid="ignore", divide="ignore"):
        f1 = np.where(denominator > 0, 2 * tp / denominator, 0.0)
    return f1


# --------------------------------------------------------------------------- tests


def paired_bootstrap(a: np.ndarray, b: np.ndarray, rounds: int = 1000, seed: int = 1) -> dict[str, float]:
    """Paired bootstrap over documents of the difference in F1, ``F1(A) - F1(B)``.

    ``a`` and ``b``: per-document (tp, predicted, gold) counts, shape (documents, 3), or
    (seeds, documents, 3) for several seeds paired seed by seed (the statistic is then the
    difference of the seed means). Returns observed F1s, the difference, its bootstrap 95%
    interval and the two-sided p-value.
    """
    a, b = np.asarray(a), np.asarray(b)
    if a.ndim == 2:
        a, b = a[None], b[None]
    if a.shape != b.shape or a.ndim != 3 or a.shape[2] != 3:
        raise ValueError(f"count arrays must both be (seeds, documents, 3); got {a.shape} and {b.shape}")
    if rounds < 1:
        raise ValueError("rounds must be at least 1")
    n_docs = a.shape[1]
    f1_a = f1_from_counts(a.sum(axis=1)).mean()
    f1_b = f1_from_counts(b.sum(axis=1)).mean()
    observed = f1_a - f1_b
    rng = np.random.default_rng(seed)
    # each round: how often each document is drawn; totals are weight @ counts
    weights = rng.multinomial(n_docs, np.full(n_docs, 1.0 / n_docs), size=rounds).astype(float)
    boot_a = f1_from_counts(np.einsum("rd,sdk->rsk", weights, a)).mean(axis=1)
    boot_b = f1_from_counts(np.einsum("rd,sdk->rsk", weights, b)).mean(axis=1)
    deltas = boot_a - boot_b
    extreme = np.abs(deltas - observed) >= abs(observed) - 1e-12
    p = (1 + int(extreme.sum())) / (1 + rounds)
    low, high = np.percentile(deltas, [2.5, 97.5])
    return {
        "f1_a": float(f1_a),
        "f1_b": float(f1_b),
        "delta": float(observed),
        "ci_low": float(low),
        "ci_high": float(high),
        "p": float(p),
        "documents": int(n_docs),
        "seeds": int(a.shape[0]),
        "rounds": int(rounds),
    }


def holm(pvalues) -> np.ndarray:
    """Holm's step-down adjusted p-values (family-wise error), in the input order.

    NaNs are left out of the family and stay NaN.
    """
    p = np.asarray(pvalues, dtype=float)
    adjusted = np.full(p.shape, np.nan)
    valid = np.flatnonzero(~np.isnan(p))
    m = len(valid)
    if m == 0:
        return adjusted
    order = valid[np.argsort(p[valid], kind="stable")]
    running = 0.0
    for rank, index in enumerate(order):
        running = max(running, min(1.0, (m - rank) * p[index]))
        adjusted[index] = running
    return adjusted
