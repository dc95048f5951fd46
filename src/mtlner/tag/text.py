"""``mtlner tag``'s input: a text file read and checked, split into sentences and tokens with
character offsets (the HUNER preprocessing's rules, :mod:`mtlner.data.huner.tokenize`), and the
tokens the encoder cannot tag sensibly found and warned about (they are tagged ``O``)."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path

from mtlner.data.huner.tokenize import split_sentences, tokenize
from mtlner.errors import UserError

log = logging.getLogger(__name__)
MAX_TOKEN_CHARS = 1000  # a longer token is tagged O without being tokenised (--max-token-chars)
UNKNOWN_RUN_CHARS = 100  # an unknown subword covering more characters than this: the model sees nothing of them
WARN_EACH = 3  # untaggable tokens warned about one by one per file; the rest are counted


@dataclass
class TextDocument:
    name: str
    text: str
    sentences: list[tuple[int, int]] = field(default_factory=list)  # character spans
    tokens: list[list[tuple[int, int]]] = field(default_factory=list)  # per sentence


def read_text(path: str | Path) -> str:
    """The file's text; UserError for a missing, binary or non-UTF-8 file."""
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as err:
        raise UserError(f"cannot read input {path}: {err.strerror or err}", hint="give text files (UTF-8)") from err
    nul = data.find(b"\x00")
    if nul >= 0:
        raise UserError(f"{path} looks binary (a NUL byte at byte {nul})", hint="give plain UTF-8 text files")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        raise UserError(
            f"{path} is not UTF-8 (byte {err.start}: {data[err.start : err.start + 1]!r})",
            hint=f"convert it first, e.g. iconv -f latin1 -t utf-8 {path} > {path.stem}.utf8.txt",
        ) from err
    return text


def segment(name: str, text: str) -> TextDocument:
    doc = TextDocument(name, text)
    for start, end in split_sentences(text):
        spans = tokenize(text, start, end)
        if spans:
            doc.sentences.append((start, end))
            doc.tokens.append(spans)
    return doc


def untaggable_tokens(
    doc: TextDocument, tokenizer, budget: int, max_token_chars: int = MAX_TOKEN_CHARS
) -> dict[int, str]:
    """Document-wide token index -> why the token cannot be tagged sensibly: longer than
    ``max_token_chars`` characters (not tokenised at all), more subwords than a window
    (``budget``) holds, or more than ``UNKNOWN_RUN_CHARS`` characters read as one unknown subword."""
    flagged: dict[int, str] = {}
    candidates: list[tuple[int, int, int]] = []
    index = 0
    for spans in doc.tokens:
        for start, end in spans:
            n = end - start
            if n > max_token_chars:
                flagged[index] = f"is longer than {max_token_chars} characters (--max-token-chars)"
            elif 4 * n > budget or n > UNKNOWN_RUN_CHARS:  # a character is at most 4 subwords (byte-level BPE)
                candidates.append((index, start, end))
            index += 1
    if candidates:
        encoded = tokenizer(
            [doc.text[s:e] for _, s, e in candidates],
            add_special_tokens=False,
            return_offsets_mapping=True,
            verbose=False,
        )
        unk = tokenizer.unk_token_id
        for (i, _, _), ids, offsets in zip(candidates, encoded["input_ids"], encoded["offset_mapping"]):
            if len(ids) > budget:
                flagged[i] = f"is longer than a window ({len(ids)} subwords, a window holds {budget})"
                continue
            run = max((b - a for t, (a, b) in zip(ids, offsets) if t == unk), default=0)
            if unk is not None and run > UNKNOWN_RUN_CHARS:
                flagged[i] = f"has {run} characters the tokenizer reads as one unknown subword"
    return flagged


def warn_untaggable(doc: TextDocument, flagged: dict[int, str]) -> None:
    if not flagged:
        return
    spans = [span for sentence in doc.tokens for span in sentence]
    for k, index in enumerate(sorted(flagged)):
        if k == WARN_EACH:
            log.warning(
                "%s: %d more such tokens tagged O (see docs/tag.md, 'Bad input')", doc.name, len(flagged) - WARN_EACH
            )
            break
        start, end = spans[index]
        head = doc.text[start : min(end, start + 20)] + ("..." if end - start > 20 else "")
        log.warning(
            "%s: the token at characters %d-%d (%r, %d characters) %s; tagged O",
            doc.name,
            start,
            end,
            head,
            end - start,
            flagged[index],
        )


def model_words(doc: TextDocument, tokenizer, flagged: dict[int, str]) -> list[list[str]]:
    """Token strings given to the encoder: an untaggable token becomes the unknown token (one
    subword, its offsets kept; it is tagged O afterwards)."""
    sentences, index = [], 0
    for spans in doc.tokens:
        words = []
        for start, end in spans:
            words.append(tokenizer.unk_token if index in flagged else doc.text[start:end])
            index += 1
        sentences.append(words)
    return sentences
