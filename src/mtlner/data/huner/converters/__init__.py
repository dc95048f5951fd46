"""One small reader per source format, all producing :class:`Document` objects.

A converter only *reads*: it turns raw files into documents (text + character spans with
the source's own entity type). Choosing which types become which class, sentence
splitting, tokenisation and IOB2 tagging happen in :mod:`mtlner.data.huner.build`, so every
format goes through the same, tested path.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterator

from mtlner.errors import UserError


@dataclass(frozen=True)
class Span:
    start: int  # character offset into Document.text, inclusive
    end: int  # exclusive
    source_type: str  # the corpus' own entity type, mapped to a class by the registry


@dataclass
class Document:
    """Text plus entity spans.

    ``sentences``: source sentence spans to keep (HUNER kept the source's boundaries for
    some corpora); ``None`` means "split with our OpenNLP-like splitter".
    ``pretokenised``: tokens are exactly the whitespace-separated words of ``text``
    (the source came tokenised); otherwise our tokeniser runs.
    """

    id: str
    text: str
    spans: list[Span] = field(default_factory=list)
    sentences: list[tuple[int, int]] | None = None
    pretokenised: bool = False
    # annotations the converter had to drop (e.g. offsets that do not match the text);
    # counted in the conversion report
    dropped: list[str] = field(default_factory=list)
    # the raw file the document was read from (named in errors about duplicate IDs)
    source: str = ""


# format name (registry.yaml "format") -> module in this package with ``read(path, options)``
FORMATS = {
    "bioc": "bioc",
    "chemdner_tsv": "chemdner_tsv",
    "bc2gm": "bc2gm",
    "iob_columns": "iob_columns",
    "standoff_tsv": "standoff_tsv",
    "osiris": "osiris",
    "mirna_xml": "mirna_xml",
    "bioinfer_xml": "bioinfer_xml",
    "deca": "deca",
    "fsu_mmax": "fsu_mmax",
    "chebi_xml": "chebi_xml",
}

Reader = Callable[[Path, dict], Iterator[Document]]


def reader_for(format_name: str | None, task: str) -> Reader:
    """The ``read`` function of a format, or a UserError saying it is not implemented."""
    module_name = FORMATS.get(format_name or "")
    if module_name is None:
        raise UserError(
            f"HUNER task {task!r}: no converter for source format {format_name!r} (not implemented yet)",
            hint="see docs/huner.md for the list of supported corpora",
        )
    module = importlib.import_module(f"{__name__}.{module_name}")
    return module.read


def iob_to_document(doc_id: str, sentences: list[list[tuple[str, str]]], source: str = "") -> Document:
    """Build a pre-tokenised Document from IOB-tagged sentences of (token, tag).

    Tags are ``O`` or ``B-X``/``I-X`` (an ``I-X`` after ``O`` or another type starts a new
    mention, as conlleval does). Tokens are joined by single spaces, sentences by newlines.
    """
    parts: list[str] = []
    spans: list[Span] = []
    sentence_spans: list[tuple[int, int]] = []
    position = 0
    for sentence in sentences:
        if not sentence:
            continue
        sentence_start = position
        open_start, open_type, last_end = None, None, None
        for index, (token, tag) in enumerate(sentence):
            if index:
                parts.append(" ")
                position += 1
            start = position
            parts.append(token)
            position += len(token)
            prefix, _, kind = tag.partition("-")
            continues = prefix == "I" and open_type == kind
            if open_start is not None and not continues:
                spans.append(Span(open_start, last_end, open_type))
                open_start = None
            if prefix in ("B", "I") and not continues:
                open_start, open_type = start, kind
            if prefix not in ("B", "I"):
                open_type = None
            last_end = position
        if open_start is not None:
            spans.append(Span(open_start, last_end, open_type))
        sentence_spans.append((sentence_start, position))
        parts.append("\n")
        position += 1
    return Document(doc_id, "".join(parts), spans, sentence_spans, pretokenised=True, source=source)


def read_text(path: Path, encoding: str = "utf-8") -> str:
    """Read a text file, keeping CR characters (offsets in many corpora count them)."""
    try:
        with open(path, encoding=encoding, newline="") as handle:
            return handle.read()
    except UnicodeDecodeError as error:
        raise UserError(
            f"{path}: not valid {encoding} ({error})", hint="check the 'encoding' of this corpus in registry.yaml"
        ) from error
