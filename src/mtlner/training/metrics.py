"""The three metric levels, defined once and used everywhere.

- ``word`` — the paper's word-level metric, as its released code computes it
  (NLPatVCU/multitasking_bert-1, ``evaluation/evaluate.py::evaluate_ner`` called with
  ``evaluate_biluo=False`` for every biomedical task): each word takes the label predicted for
  its LAST subword (``multitaskers/multi_tasking_bert.py::MultiTaskingBert.predict`` writes
  every subword's prediction onto its word in order, so the last one wins); ``B-X`` and ``I-X``
  are mapped to the same label ``X`` before scoring; precision/recall/F1 are micro-averaged
  over the entity label with ``O`` and the special ``BERT_TOKEN`` class excluded. A word
  predicted ``I`` where gold is ``B`` therefore counts as correct. Tables 2-6 use this.
- ``word_strict`` — the same words, but ``B`` and ``I`` are different labels (a word is right
  only when its tag matches exactly). Stricter than the paper; kept as its own column.
- ``entity`` — exact span match under strict IOB2 (seqeval ``mode="strict", scheme=IOB2``):
  an entity is a ``B`` followed by its ``I``s (Table 7); the spans are
  :func:`mtlner.data.labels.iob_spans`, the decoder ``mtlner tag`` and the corpus statistics use.

A word predicted as the special class counts as ``O`` at every level (it is never a mention).
All three are computed from counts (true positives, predicted, gold) so that results can be
summed over documents, which the bootstrap needs.
"""

from __future__ import annotations

from dataclasses import dataclass

from mtlner.data.labels import iob_spans


@dataclass(frozen=True)
class Counts:
    tp: int = 0
    predicted: int = 0
    gold: int = 0

    def __add__(self, other: "Counts") -> "Counts":
        return Counts(self.tp + other.tp, self.predicted + other.predicted, self.gold + other.gold)

    def prf(self) -> dict[str, float]:
        p = self.tp / self.predicted if self.predicted else 0.0
        r = self.tp / self.gold if self.gold else 0.0
        f = 2 * p * r / (p + r) if p + r else 0.0
        return {"precision": p, "recall": r, "f1": f}


POSITIVE = ("B", "I")
LEVELS = ("word", "word_strict", "entity")


def _word_level(gold: list[list[str]], predicted: list[list[str]], exact: bool) -> Counts:
    """Counts over words; a true positive is a word positive in both (``exact``: same tag)."""
    tp = n_pred = n_gold = 0
    for g_sent, p_sent in zip(gold, predicted, strict=True):
        for g, p in zip(g_sent, p_sent, strict=True):
            g_pos, p_pos = g in POSITIVE, p in POSITIVE
            n_gold += g_pos
            n_pred += p_pos
            tp += g_pos and p_pos and (g == p or not exact)
    return Counts(tp, n_pred, n_gold)


def word_counts(gold: list[list[str]], predicted: list[list[str]]) -> Counts:
    """The paper's word metric: B and I are one entity label (prefixes stripped)."""
    return _word_level(gold, predicted, exact=False)


def word_strict_counts(gold: list[list[str]], predicted: list[list[str]]) -> Counts:
    """Word metric with B and I as different labels: a word counts only if its tag matches."""
    return _word_level(gold, predicted, exact=True)


def entity_spans(sentences: list[list[str]]) -> set[tuple[int, int, int]]:
    """(sentence, start, end) of every strict-IOB2 entity, end exclusive."""
    return {(k, start, end) for k, tags in enumerate(sentences) for start, end, _ in iob_spans(tags)}


def entity_counts(gold: list[list[str]], predicted: list[list[str]]) -> Counts:
    g, p = entity_spans(gold), entity_spans(predicted)
    return Counts(len(g & p), len(p), len(g))


COUNTERS = {"word": word_counts, "word_strict": word_strict_counts, "entity": entity_counts}


def scores(gold: list[list[str]], predicted: list[list[str]]) -> dict[str, dict[str, float]]:
    """P/R/F1 plus the counts behind them at every level of ``LEVELS``."""
    out = {}
    for level in LEVELS:
        counts = COUNTERS[level](gold, predicted)
        out[level] = {**counts.prf(), "tp": counts.tp, "predicted": counts.predicted, "gold": counts.gold}
    return out
