"""Raw corpus -> documents -> sentences/tokens -> IOB2 -> ``train/dev/test.tsv``.

The tagging rule is HUNER's (``ner_scripts/scripts/utils.py``): a token belongs to a
mention when its *start* offset falls inside the mention's span; the first token of a
mention is ``B-``, the following ones ``I-``. Overlapping mentions of the task's class are
merged first (HUNER did this for BC2GM/BioInfer; we do it everywhere so that nested
annotations give one clean IOB2 mention). A sentence boundary that cuts a mention is
removed by merging the sentences, as HUNER's sentence splitter wrapper did. With our
tokeniser and the registry's default ``mention_boundaries: cut``, a word is cut where a
mention starts or ends inside it (``c-Fos/c-Jun``), so no mention is lost to a token that
starts before it (``huner`` keeps HUNER's whole words; docs/huner.md).

Document IDs: a second document with an ID already seen is counted
(``duplicate_documents``); an identical copy is kept once, a differing one is an error,
unless the corpus' registry entry says ``duplicate_ids: merge`` (HUNER converted such
corpora in parts and grouped the sentences of all parts by ID, so they are concatenated).
"""

from __future__ import annotations

import bisect
from collections import Counter
from pathlib import Path
from typing import Iterable

from mtlner.atomic import write_json, write_text
from mtlner.errors import UserError
from mtlner.data.huner.converters import Document, reader_for
from mtlner.data.huner.registry import corpus_spec, task_spec
from mtlner.data.huner.splits import SPLITS, assign, read_split_ids
from mtlner.data.huner.tokenize import split_at, split_sentences, tokenize

Sentence = list[tuple[str, str]]  # (token, IOB2 tag)


def select_spans(doc: Document, types: dict[str, str]) -> list[tuple[int, int, str]]:
    """Keep the spans whose source type the task maps to a class; merge overlaps."""
    chosen = []
    for span in doc.spans:
        cls = types.get(span.source_type, types.get("*"))
        if cls is not None and span.end > span.start:
            chosen.append((span.start, span.end, cls))
    chosen.sort()
    merged: list[tuple[int, int, str]] = []
    for start, end, cls in chosen:
        if merged and start < merged[-1][1]:
            last = merged[-1]
            merged[-1] = (last[0], max(last[1], end), last[2])
        else:
            merged.append((start, end, cls))
    return merged


def merge_cut_sentences(sentences: list[tuple[int, int]], spans: list[tuple[int, int, str]]) -> list[tuple[int, int]]:
    """Join consecutive sentences whenever a mention starts in one and ends in a later one."""
    if not sentences:
        return []
    starts = [start for start, _ in sentences]
    join_with_next = [False] * len(sentences)
    for start, end, _ in spans:
        first = max(bisect.bisect_right(starts, start) - 1, 0)
        last = max(bisect.bisect_right(starts, end - 1) - 1, 0)
        for index in range(first, last):
            join_with_next[index] = True
    merged = [sentences[0]]
    for index in range(1, len(sentences)):
        if join_with_next[index - 1]:
            merged[-1] = (merged[-1][0], sentences[index][1])
        else:
            merged.append(sentences[index])
    return merged


MENTION_BOUNDARIES = ("cut", "huner")


def tag_document(
    doc: Document,
    types: dict[str, str],
    *,
    keep_source_sentences: bool,
    keep_source_tokens: bool,
    mention_boundaries: str = "cut",
) -> tuple[list[Sentence], int]:
    """Return IOB2 sentences of ``doc`` and the number of mentions no token starts in.

    ``mention_boundaries`` (our tokeniser only): ``"cut"`` cuts a token where a mention starts
    or ends inside it, so every mention gets exactly its own tokens; ``"huner"`` keeps the
    tokens, as HUNER did (``ner_scripts/scripts/utils.py`` ``write_to_conll``): a mention no
    token starts in is lost, one that ends inside a token takes the whole token.
    """
    spans = select_spans(doc, types)
    if keep_source_sentences and doc.sentences is not None:
        sentences = doc.sentences
    else:
        sentences = split_sentences(doc.text)
    sentences = merge_cut_sentences(sentences, spans)
    span_starts = [start for start, _, _ in spans]
    # our tokeniser never splits inside a whitespace word at "/" or "-" ("c-Fos/c-Jun"); with
    # "cut", such words are cut at the mention boundaries inside them
    cuts = sorted({offset for start, end, _ in spans for offset in (start, end)}) if mention_boundaries == "cut" else []
    hit = set()
    tagged: list[Sentence] = []
    for sent_start, sent_end in sentences:
        if keep_source_tokens:
            tokens = tokenize_whitespace(doc.text, sent_start, sent_end)
        else:
            tokens = split_at(tokenize(doc.text, sent_start, sent_end), cuts)
        sentence: Sentence = []
        previous = None
        for tok_start, tok_end in tokens:
            index = bisect.bisect_right(span_starts, tok_start) - 1
            if index >= 0 and tok_start < spans[index][1]:
                cls = spans[index][2]
                tag = f"I-{cls}" if previous == index else f"B-{cls}"
                previous = index
                hit.add(index)
            else:
                tag, previous = "O", None
            sentence.append((doc.text[tok_start:tok_end], tag))
        if sentence:
            tagged.append(sentence)
    return tagged, len(spans) - len(hit)


def same_document(first: Document, second: Document) -> bool:
    """Two copies of a document are identical: same text and the same annotations."""

    def key(doc: Document):
        return doc.text, Counter((span.start, span.end, span.source_type) for span in doc.spans)

    return key(first) == key(second)


def tokenize_whitespace(text: str, start: int, end: int) -> list[tuple[int, int]]:
    """Spans of the whitespace-separated words in ``text[start:end]`` (pre-tokenised sources)."""
    spans, position = [], start
    for word in text[start:end].split():
        position = text.index(word, position)
        spans.append((position, position + len(word)))
        position += len(word)
    return spans


def mentions(sentences: Iterable[Sentence]) -> list[str]:
    """Surface strings (tokens joined by a space) of the IOB2 mentions, in order."""
    found, current = [], []
    for sentence in sentences:
        for token, tag in list(sentence) + [("", "O")]:
            if tag.startswith("I-") and current:
                current.append(token)
                continue
            if current:
                found.append(" ".join(current))
                current = []
            if tag.startswith("B-"):
                current = [token]
    return found


def format_conll(documents: list[list[Sentence]]) -> str:
    """The shared CoNLL form: ``token<TAB>tag``, blank line after each sentence, and a
    ``-DOCSTART-<TAB>O`` line plus blank line before each document."""
    lines: list[str] = []
    for sentences in documents:
        lines.append("-DOCSTART-\tO")
        lines.append("")
        for sentence in sentences:
            lines.extend(f"{token}\t{tag}" for token, tag in sentence)
            lines.append("")
    return "\n".join(lines) + ("\n" if lines else "")


def build_task(
    task: str, registry: dict, data_dir: Path, split_dir: Path, out_dir: Path, *, mention_boundaries: str | None = None
) -> dict:
    """Convert one task: read raw corpus from ``data_dir``, split by HUNER's lists from
    ``split_dir``, write ``out_dir/{train,dev,test}.tsv`` and ``conversion_report.json``.

    ``mention_boundaries``: ``"cut"`` or ``"huner"`` (see :func:`tag_document`); default: the
    registry's top-level ``mention_boundaries`` (``"cut"`` when absent)."""
    mention_boundaries = mention_boundaries or registry.get("mention_boundaries", "cut")
    if mention_boundaries not in MENTION_BOUNDARIES:
        raise UserError(
            f"mention_boundaries must be one of {', '.join(MENTION_BOUNDARIES)}, not {mention_boundaries!r}"
        )
    spec = task_spec(registry, task)
    corpus = corpus_spec(registry, spec["corpus"])
    read = reader_for(corpus["format"], task)
    options = dict(corpus.get("options") or {}, encoding=corpus.get("encoding", "utf-8"))

    policy = corpus.get("duplicate_ids", "error")
    sentences_per_doc: dict[str, list[Sentence]] = {}
    first_copy: dict[str, Document] = {}
    doc_order: list[str] = []
    duplicates: list[str] = []
    lost = 0
    dropped: list[str] = []
    for doc in read(data_dir, options):
        if not doc.text.strip():  # a skipped source document (reason is in doc.dropped)
            dropped.extend(doc.dropped)
            continue
        if doc.id in first_copy:
            duplicates.append(doc.id)
            if policy != "merge":
                if not same_document(first_copy[doc.id], doc):
                    raise UserError(
                        f"HUNER task {task!r}: document ID {doc.id!r} occurs twice with different "
                        f"content: in {first_copy[doc.id].source or data_dir} and in "
                        f"{doc.source or data_dir}",
                        hint="the raw files are not the release HUNER used: delete "
                        f"resources/huner/downloads/{spec['corpus']} and download again "
                        "(registry 'duplicate_ids: merge' concatenates such documents, as "
                        "HUNER did for corpora it converted in several parts)",
                    )
                continue  # an identical copy: counted, kept once
        else:
            first_copy[doc.id] = doc
            sentences_per_doc[doc.id] = []
            doc_order.append(doc.id)
        dropped.extend(doc.dropped)
        tagged, missed = tag_document(
            doc,
            spec["types"],
            keep_source_sentences=corpus["keep_source_sentences"],
            keep_source_tokens=corpus["keep_source_tokens"],
            mention_boundaries=mention_boundaries,
        )
        lost += missed
        # "merge": HUNER converted the parts separately, concatenated the CoNLL files and
        # grouped sentences by document ID (ner_scripts/scripts/split_corpora.py)
        sentences_per_doc[doc.id].extend(tagged)
    if not doc_order:
        raise UserError(
            f"HUNER task {task!r}: no documents found under {data_dir}",
            hint="delete the corpus' download folder and run the download again",
        )

    ids_per_split, report = assign(doc_order, read_split_ids(split_dir, spec["split"]))
    report = {
        "task": task,
        "corpus": spec["corpus"],
        "split_file": spec["split"],
        "mention_boundaries": mention_boundaries,
        **report,
        "duplicate_documents": len(duplicates),
        "duplicate_ids": policy,
        "duplicate_documents_examples": sorted(set(duplicates))[:20],
        "mentions_without_token": lost,
        "annotations_dropped": len(dropped),
        "annotations_dropped_examples": dropped[:20],
        "mentions": {},
    }
    for split in SPLITS:
        docs = [sentences_per_doc[doc_id] for doc_id in ids_per_split[split]]
        found = mentions(sentence for doc in docs for sentence in doc)
        report["mentions"][split] = {
            "total": len(found),
            "unique": len(Counter(found)),
            "sentences": sum(len(doc) for doc in docs),
        }
        write_text(out_dir / f"{split}.tsv", format_conll(docs))
    write_json(out_dir / "conversion_report.json", report)
    return report
