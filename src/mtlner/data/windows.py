"""Pack sentences into encoder-sized windows without splitting a mention.

Each word is split into subwords by the encoder's (fast) tokenizer. Every subword of a word
carries the word's tag (so the word's LAST subword, which the word-level metric reads, has it
too); ``[CLS]``/``[SEP]`` carry the special label, which is trained like the others (the
paper's "BERT-TOKEN" class) and never scored. Consecutive sentences of a document fill a
window up to ``max_length`` subwords (``windowing="pack"``, the paper's); a mention that would
cross the end of a window starts the next one instead. ``windowing="sentence"`` puts one
sentence in each window (the usual Hugging Face recipe; long sentences are still cut outside
mentions). Windows are tokenised once per (corpus, tokenizer, max length, windowing) and
cached, so ablation levels and epochs reuse them.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from pathlib import Path

import torch

from mtlner.atomic import atomic_path
from mtlner.data.corpus import TaggedDocument
from mtlner.data.labels import LABEL_ID, SPECIAL
from mtlner.errors import UserError, first_line

WINDOWINGS = ("pack", "sentence")


@dataclass
class Window:
    input_ids: list[int]
    labels: list[int]  # one per subword, SPECIAL on [CLS]/[SEP]
    word_ends: list[int]  # position (in input_ids) of each word's last subword
    sentence_lengths: list[int]  # words per sentence, in order; sums to len(word_ends)
    words: list[str]
    doc: int  # index of the source document within the split


@dataclass
class _Word:
    token: str
    tag: str
    pieces: list[int]


def _tokenize_documents(docs: list[TaggedDocument], tokenizer) -> list[list[list[_Word]]]:
    """Subword ids for every word, in one batched call of the fast tokenizer."""
    sentences = [s for d in docs for s in d.sentences]
    encoded = tokenizer([s.tokens for s in sentences], is_split_into_words=True, add_special_tokens=False)
    unk = tokenizer.unk_token_id
    out: list[list[list[_Word]]] = []
    k = 0
    for doc in docs:
        doc_words = []
        for sent in doc.sentences:
            pieces: list[list[int]] = [[] for _ in sent.tokens]
            for position, word_id in enumerate(encoded.word_ids(k)):
                if word_id is not None:
                    pieces[word_id].append(encoded["input_ids"][k][position])
            # A word the tokenizer maps to nothing (e.g. a lone control character) still needs
            # one position, or the word could not be scored.
            doc_words.append([_Word(t, g, p or [unk]) for t, g, p in zip(sent.tokens, sent.tags, pieces)])
            k += 1
        out.append(doc_words)
    return out


def _chunk_long_sentence(words: list[_Word], budget: int, where: str) -> list[list[_Word]]:
    """Cut a sentence longer than ``budget`` subwords at word boundaries outside mentions."""
    chunks, current, size = [], [], 0
    mention_start = 0  # index in ``current`` where the open mention (if any) starts
    for word in words:
        if word.tag != "I":
            mention_start = len(current)
        if size + len(word.pieces) > budget and current:
            keep = current[:mention_start] if word.tag == "I" else current
            carry = current[mention_start:] if word.tag == "I" else []
            if not keep:
                raise UserError(
                    f"{where}: a mention longer than the window ({budget} subwords) cannot be kept whole",
                    hint="raise max_length in the config, or shorten/remove that annotation",
                )
            chunks.append(keep)
            current = carry
            size = sum(len(w.pieces) for w in current)
            mention_start = 0
        current.append(word)
        size += len(word.pieces)
        if size > budget:
            raise UserError(
                f"{where}: a mention or word longer than the window ({budget} subwords) cannot be kept whole",
                hint="raise max_length in the config, or shorten/remove that annotation",
            )
    if current:
        chunks.append(current)
    return chunks


def build_windows(
    docs: list[TaggedDocument], tokenizer, max_length: int, source: str = "corpus", windowing: str = "pack"
) -> list[Window]:
    """Pack each document's sentences into windows of at most ``max_length`` subwords
    (``windowing="sentence"``: one sentence, or one piece of a long sentence, per window)."""
    if max_length < 8:
        raise UserError(f"max_length={max_length} is too small", hint="use at least 8 (the paper uses 512)")
    if windowing not in WINDOWINGS:
        raise UserError(f"windowing {windowing!r} is unknown", hint=f"use one of {', '.join(WINDOWINGS)}")
    budget = max_length - 2  # [CLS] and [SEP]
    cls, sep = tokenizer.cls_token_id, tokenizer.sep_token_id
    windows: list[Window] = []
    for doc_index, (doc, doc_words) in enumerate(zip(docs, _tokenize_documents(docs, tokenizer))):
        pending: list[list[_Word]] = []  # sentences (or sentence chunks) of the open window
        size = 0

        def flush() -> None:
            nonlocal pending, size
            if not pending:
                return
            ids, labels, ends, words = [cls], [SPECIAL], [], []
            for sentence in pending:
                for w in sentence:
                    ids.extend(w.pieces)
                    labels.extend([LABEL_ID[w.tag]] * len(w.pieces))
                    ends.append(len(ids) - 1)
                    words.append(w.token)
            ids.append(sep)
            labels.append(SPECIAL)
            windows.append(Window(ids, labels, ends, [len(s) for s in pending], words, doc_index))
            pending, size = [], 0

        for sent, words in zip(doc.sentences, doc_words):
            where = f"{source}, sentence at line {sent.line}" if sent.line else source
            if sent.origin:  # the user's own file and line, from prepare's map
                where = f"{sent.origin} (prepared as {where})"
            for chunk in _chunk_long_sentence(words, budget, where):
                chunk_size = sum(len(w.pieces) for w in chunk)
                if size + chunk_size > budget or windowing == "sentence":
                    flush()
                pending.append(chunk)
                size += chunk_size
        flush()
    return windows


def ablate(windows: list[Window], fraction_removed: float, seed: int) -> list[Window]:
    """Remove ``fraction_removed`` of the training windows, seeded.

    One permutation per seed serves every level, so the windows kept at 0.9 are a subset of
    those kept at 0.75 and so on: differences between levels come from the amount of data only.
    """
    if not 0.0 <= fraction_removed < 1.0:
        raise UserError(
            f"ablation fraction {fraction_removed} is outside [0, 1)",
            hint="ablation_levels are fractions of training data REMOVED, e.g. 0.25",
        )
    keep = max(1, round(len(windows) * (1.0 - fraction_removed)))
    order = list(range(len(windows)))
    random.Random(seed).shuffle(order)
    return [windows[i] for i in sorted(order[:keep])]


def save_windows(windows: list[Window], path: str | Path, meta: dict) -> None:
    payload = {"meta": meta, "windows": [w.__dict__ for w in windows]}
    with atomic_path(path) as tmp:
        torch.save(payload, tmp)


def load_windows(path: str | Path) -> tuple[list[Window], dict]:
    path = Path(path)
    if not path.is_file():
        raise UserError(f"window cache {path} is missing", hint="run the 'windows' rule (snakemake builds it)")
    # --forcerun: the damaged file exists, so nothing else tells Snakemake to rebuild it
    rebuild = f"rebuild it and what reads it: snakemake --cores N --forcerun {path} (with your --configfile)"
    try:
        payload = torch.load(path, weights_only=True)
        return [Window(**w) for w in payload["windows"]], dict(payload["meta"])
    except Exception as err:  # truncated zip, EOF, another layout: one message for all
        raise UserError(
            f"window cache {path} is damaged or not a window cache ({first_line(err)})", hint=rebuild
        ) from err


def window_stats(windows: list[Window]) -> dict[str, int]:
    return {
        "windows": len(windows),
        "subwords": sum(len(w.input_ids) for w in windows),
        "words": sum(len(w.word_ends) for w in windows),
        "max_subwords": max((len(w.input_ids) for w in windows), default=0),
    }
