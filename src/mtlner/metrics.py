"""The two metric levels, defined once and used everywhere.

- word level (the paper's Tables 2-6): each word takes the tag predicted for its LAST subword;
  precision/recall/F1 are micro-averaged over the B and I tags of all words of the split
  (O is the negative class; a word predicted as the special class counts as O).
- entity level (Table 7): exact span and type match under strict IOB2 (seqeval's
  ``mode="strict", scheme=IOB2``): an entity is a B followed by its Is.

Both are computed from counts (true positives, predicted, gold) so that results can be
summed over documents, which the bootstrap needs.
"""

from __future__ import annotations

from dataclasses import dataclass

from seqeval.scheme import IOB2, Entities


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


def word_counts(gold: list[list[str]], predicted: list[list[str]]) -> Counts:
    """Counts over B/I word tags (sentences of B/I/O; anything else counts as O)."""
    tp = n_pred = n_gold = 0
    for g_sent, p_sent in zip(gold, predicted, strict=True):
        for g, p in zip(g_sent, p_sent, strict=True):
            g_pos, p_pos = g in ("B", "I"), p in ("B", "I")
            n_gold += g_pos
            n_pred += p_pos
            tp += g_pos and g == p
    return Counts(tp, n_pred, n_gold)


def _typed(sentences: list[list[str]], entity: str) -> list[list[str]]:
    return [[f"{t}-{entity}" if t in ("B", "I") else "O" for t in s] for s in sentences]


def entity_spans(sentences: list[list[str]], entity: str = "ENT") -> set[tuple[int, int, int]]:
    """(sentence, start, end) of every strict-IOB2 entity."""
    found = Entities(_typed(sentences, entity), IOB2, suffix=False)
    return {(e.sent_id, e.start, e.end) for sent in found.entities for e in sent}


def entity_counts(gold: list[list[str]], predicted: list[list[str]]) -> Counts:
    g, p = entity_spans(gold), entity_spans(predicted)
    return Counts(len(g & p), len(p), len(g))


def scores(gold: list[list[str]], predicted: list[list[str]]) -> dict[str, dict[str, float]]:
    """Word-level and entity-level P/R/F1 plus the counts behind them."""
    out = {}
    for level, counts in (("word", word_counts(gold, predicted)), ("entity", entity_counts(gold, predicted))):
        out[level] = {**counts.prf(), "tp": counts.tp, "predicted": counts.predicted, "gold": counts.gold}
    return out
