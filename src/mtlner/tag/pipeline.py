"""Tag raw text with a saved STL or MTL model: ``mtlner tag --model <folder> in.txt -o out.jsonl``.

Each input file is one document. Text is split into sentences and tokens with character
offsets by the same OpenNLP-like rules the HUNER preprocessing uses
(:mod:`mtlner.data.huner.tokenize`), packed into windows of at most ``max_length`` subwords by
:func:`mtlner.data.windows.build_windows` (as in training), and every task head of the model tags
every window through :mod:`mtlner.training.inference`, as training scores dev and test (length-sorted
batches, bf16 autocast on CUDA). As in evaluation, a word takes the label of its last subword
(its first for a model trained with ``label_subwords: first``), and an entity is a ``B``
followed by its ``I`` words (strict IOB2, :func:`mtlner.data.labels.iob_spans`; an ``I`` without
a ``B`` starts nothing). An entity's score is the mean, over its words, of the softmax
probability of the label predicted where the word is read.

Outputs (written atomically: an error leaves no output file, never a partial one, and an
existing output file stays as it was):

- ``jsonl``: one JSON object per sentence: document, sentence index, character span, text,
  and its entities (task, type, start, end, text, score) from every head;
- ``conll``: ``token start end`` and one IOB2 column per task, ``-DOCSTART-`` per document;
- ``bioc``: BioC XML, one document per input file, one passage with the whole text, one
  annotation per entity (infons: type, task, score), offsets in characters. Characters XML 1.0
  cannot hold (control characters other than tab, newline and carriage return, e.g. the form
  feeds of PDF extracts; U+FFFE, U+FFFF) are written as one space each, so every offset still
  points at the same character of the input text; how many were replaced is logged.

Every offset, in every format, counts Unicode characters (code points) of the file's text
after UTF-8 decoding, with a byte-order mark dropped.

Fail early, fail clearly (every problem is one :class:`UserError` naming the file):

- the output location is checked before any work (an existing folder, a folder that cannot be
  created or written, an output that is also an input);
- every input is read and checked before the model is loaded (binary, not UTF-8, unreadable);
- the model folder is checked part by part before it is loaded, by training's loader
  (:meth:`mtlner.training.model.MultiTaskTagger.load`, :func:`~mtlner.training.model.check_model_folder`):
  ``model.json`` (valid JSON with the tasks), ``heads.pt`` (readable, one head per task of
  ``model.json``, shaped for the encoder), ``encoder/`` (config, weights, tokenizer files; a
  tokenizer whose vocabulary does not fit the encoder). Whatever the loaders still raise is
  reported as one message too.

Text it cannot tokenise sensibly: a token (a run of text without whitespace, after punctuation
is split off its edges) is tagged ``O`` and kept with its offsets, with a warning naming the
file and its character offsets, when it is longer than ``max_token_chars`` characters, when it
has more subwords than a window holds, or when the tokenizer reads more than
``UNKNOWN_RUN_CHARS`` characters of it as one unknown subword (BERT's WordPiece does that to any
longer run without punctuation). Such a token never becomes, or is part of, an entity.
"""

from __future__ import annotations

import contextlib
import logging
import sys
import time
from pathlib import Path

import torch

from mtlner.data.corpus import Sentence, TaggedDocument
from mtlner.errors import UserError, first_line
from mtlner.data.labels import LABEL_ID, LABELS, iob_spans
from mtlner.training.inference import pick_device, predict_windows
from mtlner.training.model import MultiTaskTagger
from mtlner.data.windows import build_windows
from mtlner.tag.text import (
    MAX_TOKEN_CHARS,
    TextDocument,
    model_words,
    read_text,
    segment,
    untaggable_tokens,
    warn_untaggable,
)
from mtlner.tag.writers import FORMATS, WRITERS, check_output, write_output

log = logging.getLogger(__name__)


def _shows_progress(enabled: bool) -> bool:
    isatty = getattr(sys.stderr, "isatty", None)
    return bool(enabled and callable(isatty) and isatty())


def _progress(iterable=None, *, enabled: bool, **kwargs):
    """tqdm on stderr, only when it is a terminal (and ``enabled``: ``--no-progress`` turns it off)."""
    from tqdm import tqdm

    return tqdm(
        iterable, file=sys.stderr, disable=not _shows_progress(enabled), mininterval=0.5, dynamic_ncols=True, **kwargs
    )


@contextlib.contextmanager
def _transformers_quiet(bars: bool = True, warnings: bool = True):
    """Within: no transformers progress bars (``bars=False``: the loader's "Loading weights") and,
    with ``warnings=False``, none of its warnings (the tokenizer's "longer than the maximum
    sequence length" is wrong here: long sentences are cut into windows)."""
    from transformers.utils import logging as hf_logging

    had_bars, verbosity = hf_logging.is_progress_bar_enabled(), hf_logging.get_verbosity()
    if not bars:
        hf_logging.disable_progress_bar()
    if not warnings:
        hf_logging.set_verbosity_error()
    try:
        yield
    finally:
        if had_bars and not bars:
            hf_logging.enable_progress_bar()
        hf_logging.set_verbosity(verbosity)


# --------------------------------------------------------------------------- model


def load_model(folder: str | Path, device: torch.device):
    """(model, tokenizer, model.json) of a saved model folder, in eval mode on ``device``: training's
    loader (:meth:`MultiTaskTagger.load`, which checks every part first), then the move."""
    model, tokenizer = MultiTaskTagger.load(folder)
    try:
        model = model.to(device)
    except Exception as err:
        raise UserError(f"cannot move the model to {device} ({first_line(err)})", hint="use --device cpu") from err
    return model.eval(), tokenizer, model.model_json


def entities(labels: list[int], probs: list[float]) -> list[tuple[int, int, float]]:
    """Strict IOB2 entities of one sentence (:func:`mtlner.data.labels.iob_spans`): (first word,
    last word + 1, mean probability of its words' labels)."""
    return [
        (start, end, sum(probs[start:end]) / (end - start)) for start, end, _ in iob_spans([LABELS[i] for i in labels])
    ]


# --------------------------------------------------------------------------- tagging


def tag_documents(
    model: MultiTaskTagger,
    tokenizer,
    docs: list[TextDocument],
    max_length: int,
    device,
    max_tokens: int = 8192,
    label_subwords: str = "all",
    progress: bool = False,
    max_token_chars: int = MAX_TOKEN_CHARS,
    untaggable: list[dict[int, str]] | None = None,
) -> list[list[dict]]:
    """Per document, per sentence: a record with the sentence's span and all heads' entities.
    ``untaggable`` (if given) receives, per document, the tokens tagged O because they cannot be
    tokenised sensibly (see :func:`untaggable_tokens`)."""
    inputs, flagged_per_doc = [], []
    for d in docs:
        flagged = untaggable_tokens(d, tokenizer, max_length - 2, max_token_chars)
        warn_untaggable(d, flagged)
        inputs.append(
            TaggedDocument(
                [Sentence(words, ["O"] * len(words)) for words in model_words(d, tokenizer, flagged)], d.name
            )
        )
        flagged_per_doc.append(flagged)
    if untaggable is not None:
        untaggable.extend(flagged_per_doc)
    with _transformers_quiet(warnings=False):
        windows = build_windows(inputs, tokenizer, max_length, source="input")
    with _progress(total=len(windows), desc="tag", unit="window", enabled=progress) as bar:
        predicted = predict_windows(
            model,
            windows,
            tokenizer.pad_token_id,
            device,
            max_tokens,
            label_subwords=label_subwords,
            probabilities=True,
            progress=bar.update,
        )
    # concatenate word predictions per document (a window holds words of one document, in order)
    per_doc: list[dict[str, tuple[list[int], list[float]]]] = [{t: ([], []) for t in model.tasks} for _ in docs]
    for window, result in zip(windows, predicted):
        for task, (labels, probs) in result.items():
            per_doc[window.doc][task][0].extend(labels)
            per_doc[window.doc][task][1].extend(probs)
    records = []
    for d, result, flagged in zip(docs, per_doc, flagged_per_doc):
        for labels, _ in result.values():
            for index in flagged:
                labels[index] = LABEL_ID["O"]
        records.append(_sentence_records(d, result, model.tasks))
    return records


def _sentence_records(doc: TextDocument, result, tasks: dict[str, str]) -> list[dict]:
    records, offset = [], 0
    for index, ((s_start, s_end), spans) in enumerate(zip(doc.sentences, doc.tokens)):
        n = len(spans)
        found = []
        for task, entity_type in tasks.items():
            labels, probs = result[task][0][offset : offset + n], result[task][1][offset : offset + n]
            for first, last, score in entities(labels, probs):
                start, end = spans[first][0], spans[last - 1][1]
                found.append(
                    {
                        "task": task,
                        "type": entity_type,
                        "start": start,
                        "end": end,
                        "text": doc.text[start:end],
                        "score": round(score, 4),
                    }
                )
        found.sort(key=lambda e: (e["start"], e["end"], e["task"]))
        tags = {task: _iob(result[task][0][offset : offset + n], tasks[task]) for task in tasks}
        records.append(
            {
                "document": doc.name,
                "sentence": index,
                "start": s_start,
                "end": s_end,
                "text": doc.text[s_start:s_end],
                "entities": found,
                "_tokens": spans,
                "_tags": tags,
            }
        )
        offset += n
    return records


def _iob(labels: list[int], entity_type: str) -> list[str]:
    """Typed IOB2 tags of one sentence's entities (an ``I`` that continues nothing becomes ``O``)."""
    tags = ["O"] * len(labels)
    for start, end, _ in iob_spans([LABELS[i] for i in labels]):
        tags[start:end] = [f"B-{entity_type}"] + [f"I-{entity_type}"] * (end - start - 1)
    return tags


def tag_files(
    model_dir,
    inputs,
    output,
    fmt: str = "jsonl",
    max_length: int | None = None,
    device: str = "cpu",
    batch_tokens: int = 8192,
    progress: bool = True,
    max_token_chars: int = MAX_TOKEN_CHARS,
) -> dict:
    """Tag every input file (one document each) and write ``output`` atomically.

    Checked in this order, before any tagging: the arguments, the output location, every
    input, the model folder. ``progress``: a bar on stderr when it is a terminal."""
    if fmt not in WRITERS:
        raise UserError(f"unknown output format {fmt!r}", hint=f"use one of {', '.join(FORMATS)}")
    if not inputs:
        raise UserError("no input files given", hint="mtlner tag --model MODEL file.txt [more.txt ...] -o out.jsonl")
    if max_token_chars < 1:
        raise UserError(
            f"--max-token-chars {max_token_chars} must be at least 1", hint=f"the default is {MAX_TOKEN_CHARS}"
        )
    if batch_tokens < 1:
        raise UserError(f"--max-tokens {batch_tokens} must be at least 1", hint="the default is 8192")
    output = check_output(output, inputs)
    try:
        torch_device = pick_device(device)
    except RuntimeError as err:
        raise UserError(f"unknown device {device!r} ({first_line(err)})", hint="use cpu, cuda, cuda:N or auto") from err
    texts = [(str(p), read_text(p)) for p in inputs]  # all inputs checked before any work
    with _transformers_quiet(bars=_shows_progress(progress)):
        model, tokenizer, written = load_model(model_dir, torch_device)
    trained = written.get("max_length")
    positions = model.encoder.config.max_position_embeddings
    limit = min(trained or 512, positions)  # the training window size
    max_length = min(max_length or limit, positions)
    started = time.perf_counter()
    docs = [
        segment(name, text)
        for name, text in _progress(texts, desc="split", unit="file", enabled=progress and len(texts) > 1)
    ]
    for d in docs:
        if not d.sentences:
            log.warning("%s holds no text to tag", d.name)
    label_subwords = written.get("label_subwords", "all")
    untaggable: list[dict[int, str]] = []
    if any(d.sentences for d in docs):
        records = tag_documents(
            model,
            tokenizer,
            docs,
            max_length,
            torch_device,
            batch_tokens,
            label_subwords,
            progress,
            max_token_chars,
            untaggable,
        )
    else:
        records = [[] for _ in docs]
    seconds = time.perf_counter() - started
    write_output(output, WRITERS[fmt](docs, records, list(model.tasks)))
    sentences = sum(len(d.sentences) for d in docs)
    tokens = sum(len(t) for d in docs for t in d.tokens)
    return {
        "output": str(output),
        "documents": len(docs),
        "sentences": sentences,
        "tokens": tokens,
        "seconds": seconds,
        "untaggable_tokens": sum(len(u) for u in untaggable),
        "sentences_per_second": sentences / seconds if seconds else 0.0,
        "tokens_per_second": tokens / seconds if seconds else 0.0,
    }
