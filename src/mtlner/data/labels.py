"""The label scheme, in one place: the labels a window carries, where a word is read, and how
IOB2 tags become entities.

- ``LABELS``: every subword of a word carries the word's tag (``O``, ``B``, ``I``); ``[CLS]``
  and ``[SEP]`` carry ``SPECIAL``, which is trained like the others (the paper's "BERT-TOKEN"
  class) and never scored. ``LABEL_ID`` maps a label to its id in a window.
- ``IGNORE``: the label of the positions the loss skips (pads; with ``label_subwords="first"``
  all but each word's first subword).
- ``LABEL_SUBWORDS`` and :func:`word_positions`: where each word is read (and trained).
- :func:`iob_spans`: the one strict-IOB2 span decoder, behind the entity metric, the corpus
  statistics and the entities ``mtlner tag`` writes.

Imports nothing (not torch, not the rest of the package), so corpora, windows, metrics and
the model all read the scheme from here.
"""

from __future__ import annotations

from collections.abc import Sequence

LABELS = ("O", "B", "I", "SPECIAL")
LABEL_ID = {name: i for i, name in enumerate(LABELS)}
SPECIAL = LABEL_ID["SPECIAL"]
IGNORE = -100  # label of the positions the loss skips (pads; with label_subwords="first" all but first subwords)

LABEL_SUBWORDS = ("all", "first")


def word_positions(window, label_subwords: str = "all") -> list[int]:
    """Where each word of ``window`` (a :class:`mtlner.data.windows.Window`) is read (and, with
    ``first``, trained): its last subword under the paper's recipe (``all``: every subword
    carries the word's tag, the last one is read, as ``multitaskers/multi_tasking_bert.py::predict``
    in the paper's code does), its first subword under the Hugging Face recipe (``first``: only
    that one carries the loss). A window's words are contiguous between [CLS] and [SEP], so a
    word starts right after the previous one ends."""
    if label_subwords == "all":
        return window.word_ends
    return [1] + [end + 1 for end in window.word_ends[:-1]] if window.word_ends else []


def iob_spans(tags: Sequence[str]) -> list[tuple[int, int, str]]:
    """(start, end, type) of every strict-IOB2 entity of one sentence, end exclusive.

    ``tags`` are ``B``/``I``/``O``, optionally typed (``B-gene``; the type is what follows the
    first hyphen, ``""`` when untyped). An entity is a ``B`` followed by the ``I`` of its own
    type; an ``I`` that continues nothing (after ``O``, or after an entity of another type)
    starts nothing, and anything else (``O``, a special label) is outside. This is seqeval's
    ``mode="strict", scheme=IOB2`` (tests/unit/test_inference.py checks it on every short sequence).
    """
    spans: list[tuple[int, int, str]] = []
    start, kind = None, ""
    for i, tag in enumerate(tags):
        prefix, _, tag_type = tag.partition("-")
        if prefix == "I" and start is not None and tag_type == kind:
            continue
        if start is not None:
            spans.append((start, i, kind))
        start, kind = (i, tag_type) if prefix == "B" else (None, "")
    if start is not None:
        spans.append((start, len(tags), kind))
    return spans
