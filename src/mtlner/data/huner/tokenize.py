"""OpenNLP-like English sentence splitting and tokenisation, with character offsets.

HUNER ran OpenNLP 1.x with the stock English models (``en-sent.bin``, ``en-token.bin``).
Those are maximum-entropy models trained on Penn-Treebank-style text; this module copies
their visible behaviour with a few deterministic rules so that the workflow needs no Java:

Tokens (``tokenize``):
* whitespace always separates tokens;
* brackets, quotes and ``, ; : ? !`` are split off the *edges* of a word: ``(p53)`` ->
  ``(`` ``p53`` ``)``; a closing bracket is only split off when its opening partner is
  not inside the same word, so ``Ca(2+)`` and ``2-(4-chlorophenyl)ethanol`` stay whole;
* hyphens, slashes, internal commas and internal periods stay inside a word as in the
  Treebank: ``IL-2-induced``, ``1,2-dichloroethane``, ``3.5`` are single tokens;
* a trailing period is split off at the end of a sentence, and in mid-sentence unless the
  word is an abbreviation (``e.g.``, ``Fig.``, ``et al.``, single initials ``J.``);
* a semicolon is split off the edges of a word like a comma, but stays inside one
  (``Mlh1-/-;Apc1638N``);
* ``%`` is split off a number (``5.8%`` -> ``5.8`` ``%``) and ``'s``/``n't`` off a word.

Sentences (``split_sentences``):
* any newline is a hard boundary (OpenNLP's command-line tool works per line/paragraph,
  and HUNER fed it title and abstract as separate lines);
* ``.``, ``?`` or ``!`` (plus closing quotes/brackets) ends a sentence when followed by
  whitespace and an upper-case letter, digit or opening bracket/quote, unless the word
  before the period is a known abbreviation or a single capital initial
  (``Fig. 2``, ``et al. (2001)``, ``e.g. IL-2``, ``J. Smith`` do not end sentences).

Known differences from OpenNLP (the model is statistical, these rules are not):
* OpenNLP sometimes splits words at hyphens or slashes when its model has seen the
  pattern (``Ca2+/calmodulin``); we never do;
* OpenNLP may start a sentence at a lower-case word after a period (e.g. gene names such as
  ``p53`` that start a sentence); we require an upper-case letter, digit or bracket;
* OpenNLP may end a sentence after an abbreviation followed by a capitalised word; we never
  end a sentence after a listed abbreviation.
Entities that cross one of our sentence boundaries are handled by the caller (sentences are
merged, as HUNER did), so a wrong boundary never cuts a mention.

Mention boundaries (``split_at``): the caller cuts a token wherever a mention starts or ends
inside it (``c-Fos/c-Jun`` with mentions ``c-Fos`` and ``c-Jun`` -> ``c-Fos`` ``/`` ``c-Jun``).
OpenNLP's model did this only where it had learnt to split (and HUNER then lost the
mention when it did not); see docs/huner.md for what this changes in Table 1.
"""

from __future__ import annotations

import bisect
import re

# Words (lower-cased, without their final period) after which a period does not end a sentence.
ABBREVIATIONS = frozenset(
    """
    e.g i.e et al fig figs eq eqs ref refs vs cf approx ca no nos vol pp p dr mr mrs ms prof
    st sp spp var subsp ltd inc co corp jr sr resp incl viz etc min max
    jan feb mar apr jun jul aug sep sept oct nov dec
    """.split()
)

_OPENING = "([{\"'`"
_CLOSING = ")]}\"'"
_PAIRS = {")": "(", "]": "[", "}": "{"}
_EDGE_PUNCT = ",;:?!"
_SENTENCE_END = re.compile(r"[.?!]+[\"')\]]*$")
_WHITESPACE_RUN = re.compile(r"\S+")


def _is_abbreviation(word: str) -> bool:
    """``word`` is the text before a final period (e.g. ``Fig`` for ``Fig.``)."""
    core = word.lstrip(_OPENING).lower()
    if core in ABBREVIATIONS:
        return True
    if len(core) == 1 and core.isalpha():  # initials: "J. Smith", "E. coli"
        return True
    return "." in core and all(part.isalpha() and len(part) <= 3 for part in core.split("."))


def split_sentences(text: str) -> list[tuple[int, int]]:
    """Return ``(start, end)`` character spans of the sentences of ``text``.

    Spans cover no leading/trailing whitespace; empty lines give no sentence.
    """
    spans: list[tuple[int, int]] = []
    for line in re.finditer(r"[^\r\n]+", text):
        spans.extend(_split_line(text, line.start(), line.end()))
    return spans


def _split_line(text: str, start: int, end: int) -> list[tuple[int, int]]:
    spans = []
    sentence_start = None
    words = list(_WHITESPACE_RUN.finditer(text, start, end))
    for index, word in enumerate(words):
        if sentence_start is None:
            sentence_start = word.start()
        if index + 1 < len(words) and _ends_sentence(word.group(), words[index + 1].group()):
            spans.append((sentence_start, word.end()))
            sentence_start = None
    if sentence_start is not None:
        spans.append((sentence_start, words[-1].end()))
    return spans


def _ends_sentence(word: str, next_word: str) -> bool:
    match = _SENTENCE_END.search(word)
    if match is None or match.end() != len(word):
        return False
    before = word[: match.start()]
    if match.group().startswith(".") and len(match.group().rstrip("\"')]")) == 1:
        if before and _is_abbreviation(before):  # a lone "." (pre-tokenised text) still ends
            return False
    first = next_word[0]
    return first.isupper() or first.isdigit() or first in _OPENING


def tokenize(
    text: str, start: int = 0, end: int | None = None, *, sentence_final: bool = True
) -> list[tuple[int, int]]:
    """Return ``(start, end)`` spans of the tokens of ``text[start:end]``.

    ``sentence_final``: the range is a whole sentence, so a period at its end is split off.
    """
    end = len(text) if end is None else end
    words = list(_WHITESPACE_RUN.finditer(text, start, end))
    spans: list[tuple[int, int]] = []
    for index, word in enumerate(words):
        is_last = sentence_final and index == len(words) - 1
        # a semicolon inside a word stays, like a comma: VARIOME's genotypes "Mlh1-/-;Apc1638N"
        # are one OpenNLP token (splitting them gives 31 more VARIOME gene mentions than
        # Table 1; keeping them whole matches it to 0.5 %, docs/huner.md)
        spans.extend(_split_word(word.group(), word.start(), is_last))
    return spans


def _split_word(word: str, offset: int, is_last: bool) -> list[tuple[int, int]]:
    if len(word) > 1 and set(word) <= {"."}:  # an ellipsis "..." stays one token
        return [(offset, offset + len(word))]
    lo, hi = 0, len(word)
    head: list[tuple[int, int]] = []
    tail: list[tuple[int, int]] = []
    changed = True
    while changed and lo < hi:
        changed = False
        if word[lo] in _OPENING and hi - lo > 1:
            head.append((lo, lo + 1))
            lo += 1
            changed = True
        char = word[hi - 1]
        if hi - lo > 1 and (char in _EDGE_PUNCT or _closing_splits(word, lo, hi)):
            tail.append((hi - 1, hi))
            hi -= 1
            changed = True
        elif hi - lo > 1 and char == "." and (is_last or not _is_abbreviation(word[lo : hi - 1])):
            tail.append((hi - 1, hi))
            hi -= 1
            changed = True
        elif hi - lo > 1 and char == "%" and word[hi - 2].isdigit():
            tail.append((hi - 1, hi))
            hi -= 1
            changed = True
    middle = _split_clitics(word, lo, hi)
    pieces = head + middle + list(reversed(tail))
    return [(offset + a, offset + b) for a, b in pieces]


def _closing_splits(word: str, lo: int, hi: int) -> bool:
    char = word[hi - 1]
    if char not in _CLOSING:
        return False
    opener = _PAIRS.get(char)
    if opener is None:  # a quote: split unless the word opened one too
        return True
    return word[lo : hi - 1].count(opener) <= word[lo : hi - 1].count(char)


def _split_clitics(word: str, lo: int, hi: int) -> list[tuple[int, int]]:
    lower = word[lo:hi].lower()
    for clitic in ("n't", "'s"):
        if lower.endswith(clitic) and hi - lo > len(clitic):
            cut = hi - len(clitic)
            return [(lo, cut), (cut, hi)]
    return [(lo, hi)] if lo < hi else []


def split_at(tokens: list[tuple[int, int]], cuts: list[int]) -> list[tuple[int, int]]:
    """Cut every token ``(start, end)`` at each offset of the sorted ``cuts`` strictly inside it.

    Used with the start and end offsets of a sentence's mentions, so that every mention
    begins and ends on a token boundary (``anti-p53`` with a mention ``p53`` becomes
    ``anti-`` ``p53``).
    """
    if not cuts:
        return tokens
    pieces: list[tuple[int, int]] = []
    for start, end in tokens:
        first = bisect.bisect_right(cuts, start)
        last = bisect.bisect_left(cuts, end)
        position = start
        for cut in cuts[first:last]:  # start < cut < end
            pieces.append((position, cut))
            position = cut
        pieces.append((position, end))
    return pieces
