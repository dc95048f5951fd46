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
- the model folder is checked part by part before it is loaded: ``model.json`` (valid JSON
  with the tasks), ``heads.pt`` (readable, one head per task of ``model.json``, shaped for the
  encoder), ``encoder/`` (config, weights, tokenizer files; a tokenizer whose vocabulary does
  not fit the encoder). Whatever the loaders still raise is reported as one message too.

Text it cannot tokenise sensibly: a token (a run of text without whitespace, after punctuation
is split off its edges) is tagged ``O`` and kept with its offsets, with a warning naming the
file and its character offsets, when it is longer than ``max_token_chars`` characters, when it
has more subwords than a window holds, or when the tokenizer reads more than
``UNKNOWN_RUN_CHARS`` characters of it as one unknown subword (BERT's WordPiece does that to any
longer run without punctuation). Such a token never becomes, or is part of, an entity.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import re
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import torch

from mtlner.atomic import atomic_path
from mtlner.data.corpus import Sentence, TaggedDocument
from mtlner.errors import UserError, first_line
from mtlner.data.huner.tokenize import split_sentences, tokenize
from mtlner.data.labels import LABEL_ID, LABEL_SUBWORDS, LABELS, iob_spans
from mtlner.training.inference import pick_device, predict_windows
from mtlner.training.model import MultiTaskTagger
from mtlner.data.windows import build_windows

log = logging.getLogger(__name__)
FORMATS = ("jsonl", "conll", "bioc")
MAX_TOKEN_CHARS = 1000  # a longer token is tagged O without being tokenised (--max-token-chars)
UNKNOWN_RUN_CHARS = 100  # an unknown subword covering more characters than this: the model sees nothing of them
WARN_EACH = 3  # untaggable tokens warned about one by one per file; the rest are counted
_RECOPY = (
    "copy the whole model folder again from the run that wrote it (encoder/, heads.pt and model.json belong together)"
)


@dataclass
class TextDocument:
    name: str
    text: str
    sentences: list[tuple[int, int]] = field(default_factory=list)  # character spans
    tokens: list[list[tuple[int, int]]] = field(default_factory=list)  # per sentence


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


# --------------------------------------------------------------------------- output location


def check_output(output: str | Path, inputs=()) -> Path:
    """Refuse, before any work, an output that cannot be written: an existing folder, a path
    under a file, a folder that is not writable, one of the inputs. Missing folders are
    created when the output is written."""
    path = Path(output)
    if str(output) == "" or path.name in ("", ".", ".."):
        raise UserError(f"output {str(output)!r} is not a file name", hint="give a file, e.g. -o tagged.jsonl")
    if path.is_dir():
        raise UserError(f"output {path} is a folder", hint=f"give a file name, e.g. -o {path / 'tagged.jsonl'}")
    try:
        resolved = path.resolve()
        for p in inputs:
            if Path(p).resolve() == resolved:
                raise UserError(
                    f"output {path} is also an input", hint="tagging would overwrite the text; choose another -o"
                )
    except OSError:  # a symlink loop and the like: the probe below says what is wrong
        pass
    folder = path.parent
    while not folder.exists() and folder != folder.parent:
        if folder.is_symlink():
            raise UserError(
                f"cannot write {path}: {folder} is a broken symbolic link", hint="choose another -o or fix the link"
            )
        folder = folder.parent
    if not folder.is_dir():
        raise UserError(f"cannot write {path}: {folder} is a file, not a folder", hint="choose another -o")
    try:  # a real write, not os.access: that says yes to root on a read-only mount
        fd, probe = tempfile.mkstemp(prefix=f".tmp-{path.name}-probe-", dir=folder)
        os.close(fd)
        os.unlink(probe)
    except OSError as err:
        raise UserError(
            f"cannot write {path}: folder {folder} is not writable ({err.strerror or err})",
            hint="choose another -o, or fix that folder's permissions",
        ) from err
    return path


def _write(output: Path, text: str) -> None:
    try:
        with atomic_path(output) as tmp:
            tmp.write_text(text, encoding="utf-8")
    except OSError as err:
        raise UserError(
            f"cannot write {output}: {err.strerror or err}",
            hint="check free space and permissions there; nothing was written (an earlier file of that name is untouched)",
        ) from err


# --------------------------------------------------------------------------- input


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


def _warn_untaggable(doc: TextDocument, flagged: dict[int, str]) -> None:
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


def _model_words(doc: TextDocument, tokenizer, flagged: dict[int, str]) -> list[list[str]]:
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


# --------------------------------------------------------------------------- model


def _read_json(path: Path) -> object:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except OSError as err:
        raise UserError(f"cannot read {path}: {err.strerror or err}", hint=_RECOPY) from err
    except ValueError as err:  # JSONDecodeError, UnicodeDecodeError
        raise UserError(f"{path} is not valid JSON ({first_line(err)})", hint=_RECOPY) from err


def _check_meta(path: Path) -> dict:
    meta = _read_json(path)
    tasks = meta.get("tasks") if isinstance(meta, dict) else None
    if not (
        isinstance(tasks, dict) and tasks and all(isinstance(k, str) and isinstance(v, str) for k, v in tasks.items())
    ):
        raise UserError(
            f'{path} does not list the model\'s tasks (a "tasks" object of task name -> entity type, e.g. {{"gene_demo_a": "gene"}})',
            hint=_RECOPY,
        )
    labels = meta.get("labels")
    if labels is not None and list(labels) != list(LABELS):
        raise UserError(
            f"{path}: the model's labels are {labels}, this mtlner reads {list(LABELS)}",
            hint="tag with the mtlner version that trained the model",
        )
    max_length = meta.get("max_length")
    if max_length is not None and (not isinstance(max_length, int) or isinstance(max_length, bool) or max_length < 8):
        raise UserError(
            f"{path}: max_length {max_length!r} is not a window size (an integer of at least 8)", hint=_RECOPY
        )
    if meta.get("label_subwords", "all") not in LABEL_SUBWORDS:
        raise UserError(
            f"{path}: label_subwords {meta['label_subwords']!r} is not one of {', '.join(LABEL_SUBWORDS)}", hint=_RECOPY
        )
    return meta


def _check_encoder_folder(encoder: Path) -> int | None:
    """The encoder's hidden size (None when its config does not say); UserError for a missing part."""
    if not encoder.is_dir():
        raise UserError(f"{encoder} is not a folder", hint=_RECOPY)
    config_path = encoder / "config.json"
    if not config_path.is_file():
        raise UserError(f"{config_path} is missing: {encoder} is not a saved encoder", hint=_RECOPY)
    config = _read_json(config_path)
    if not isinstance(config, dict):
        raise UserError(f"{config_path} is not an encoder config (a JSON object)", hint=_RECOPY)
    weights = ("model.safetensors", "pytorch_model.bin", "model.safetensors.index.json", "pytorch_model.bin.index.json")
    if not any((encoder / w).is_file() for w in weights):
        raise UserError(f"{encoder} holds no encoder weights ({weights[0]} or {weights[1]})", hint=_RECOPY)
    vocab = ("tokenizer.json", "vocab.txt", "vocab.json", "spiece.model", "sentencepiece.bpe.model", "tokenizer.model")
    if not any((encoder / v).is_file() for v in vocab):
        raise UserError(f"{encoder} holds no tokenizer ({vocab[0]} or {vocab[1]})", hint=_RECOPY)
    hidden = config.get("hidden_size", config.get("dim", config.get("d_model")))
    return hidden if isinstance(hidden, int) else None


def _check_heads(path: Path, tasks: dict[str, str], hidden: int | None) -> None:
    if not path.is_file():
        raise UserError(f"{path} is not a file", hint=_RECOPY)
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:  # truncated zip, EOF, not a pickle at all, ...
        raise UserError(
            f"{path} cannot be read ({first_line(err)}): it is truncated or not a heads file", hint=_RECOPY
        ) from err
    if not isinstance(state, dict) or not all(
        isinstance(k, str) and isinstance(v, torch.Tensor) for k, v in state.items()
    ):
        raise UserError(f"{path} is not a state dict of task heads", hint=_RECOPY)
    expected = {f"{t}.{p}" for t in tasks for p in ("weight", "bias")}
    if set(state) != expected:
        found = sorted({k.rsplit(".", 1)[0] for k in state})
        raise UserError(
            f"{path} holds heads for {', '.join(found) or 'no task'} but {path.parent / 'model.json'} lists "
            f"{', '.join(tasks)}: the two files come from different models",
            hint=_RECOPY,
        )
    for task in tasks:
        weight, bias = state[f"{task}.weight"], state[f"{task}.bias"]
        want = (len(LABELS), hidden if hidden is not None else weight.shape[-1])
        if tuple(weight.shape) != want or tuple(bias.shape) != (len(LABELS),):
            raise UserError(
                f"{path}: the head of {task} has shape {tuple(weight.shape)}, the encoder in {path.parent / 'encoder'} needs {want}: "
                "heads.pt comes from a model with another encoder",
                hint=_RECOPY,
            )


def check_model_folder(folder: str | Path) -> dict:
    """Every part of a saved model folder, checked before the (slow) encoder is loaded; returns model.json."""
    folder = Path(folder)
    if not folder.exists():
        raise UserError(
            f"model folder {folder} does not exist",
            hint="point --model to a model/ folder the workflow wrote, e.g. results/mtl/all/ablation_0.0/seed_1/model",
        )
    if not folder.is_dir():
        raise UserError(
            f"--model {folder} is a file, not a model folder",
            hint="give the folder that holds encoder/, heads.pt and model.json",
        )
    for needed in ("model.json", "heads.pt", "encoder"):
        if not (folder / needed).exists():
            inner = folder / "model"
            wrote = "point --model to a model/ folder the workflow wrote (encoder/, heads.pt, model.json)"
            hint = f"did you mean --model {inner}?" if (inner / "model.json").is_file() else wrote
            raise UserError(f"{folder / needed} is missing: {folder} is not a saved model", hint=hint)
    meta = _check_meta(folder / "model.json")
    hidden = _check_encoder_folder(folder / "encoder")
    _check_heads(folder / "heads.pt", meta["tasks"], hidden)
    return meta


def load_model(folder: str | Path, device: torch.device):
    """(model, tokenizer, model.json) of a saved model folder; every problem is a UserError naming the file."""
    folder = Path(folder)
    meta = check_model_folder(folder)
    try:
        model, tokenizer = MultiTaskTagger.load(folder)
    except UserError:
        raise
    except Exception as err:  # e.g. a truncated model.safetensors
        raise UserError(f"cannot load the encoder in {folder / 'encoder'} ({first_line(err)})", hint=_RECOPY) from err
    vocab, known = model.encoder.config.vocab_size, len(tokenizer)
    if known > vocab or 2 * known < vocab:
        raise UserError(
            f"the tokenizer in {folder / 'encoder'} has {known} tokens but the encoder's vocabulary {vocab}: "
            "its tokenizer files are missing or come from another model",
            hint=_RECOPY,
        )
    try:
        model = model.to(device)
    except Exception as err:
        raise UserError(f"cannot move the model to {device} ({first_line(err)})", hint="use --device cpu") from err
    return model.eval(), tokenizer, meta


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
        _warn_untaggable(d, flagged)
        inputs.append(
            TaggedDocument(
                [Sentence(words, ["O"] * len(words)) for words in _model_words(d, tokenizer, flagged)], d.name
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


# --------------------------------------------------------------------------- output


def _jsonl(docs, records, tasks) -> str:
    lines = []
    for doc_records in records:
        for r in doc_records:
            lines.append(json.dumps({k: v for k, v in r.items() if not k.startswith("_")}, ensure_ascii=False))
    return "".join(line + "\n" for line in lines)


def _conll(docs, records, tasks) -> str:
    lines = ["# token\tstart\tend\t" + "\t".join(tasks)]
    for doc, doc_records in zip(docs, records):
        lines += [f"-DOCSTART-\t{doc.name}", ""]
        for r in doc_records:
            for k, (start, end) in enumerate(r["_tokens"]):
                tags = "\t".join(r["_tags"][t][k] for t in tasks)
                lines.append(f"{doc.text[start:end]}\t{start}\t{end}\t{tags}")
            lines.append("")
    return "\n".join(lines) + "\n"


# XML 1.0 allows tab, LF, CR, U+0020-U+D7FF, U+E000-U+FFFD, U+10000-U+10FFFF; lxml refuses the rest.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def xml_safe(text: str, replacement: str = " ", counts: Counter | None = None) -> str:
    """``text`` with every character XML 1.0 cannot hold replaced by ``replacement`` (one for
    one when it is one character, so offsets into the text stay valid); ``counts`` tallies them."""
    if counts is not None:
        counts.update(_NOT_XML.findall(text))
    return _NOT_XML.sub(replacement, text)


def _bioc(docs, records, tasks) -> str:
    import bioc
    from bioc import biocxml

    collection = bioc.BioCCollection()
    collection.source = "mtlner tag"
    collection.key = "mtlner.key"
    number, counts, touched = 0, Counter(), 0
    for doc, doc_records in zip(docs, records):
        document = bioc.BioCDocument()
        document.id = xml_safe(doc.name, "\ufffd")  # a file name may hold anything but NUL and /
        passage = bioc.BioCPassage()
        passage.offset = 0
        before = sum(counts.values())
        passage.text = xml_safe(doc.text, " ", counts)
        touched += sum(counts.values()) > before
        for r in doc_records:
            for e in r["entities"]:
                number += 1
                annotation = bioc.BioCAnnotation()
                annotation.id = f"T{number}"
                annotation.infons.update(
                    {
                        "type": xml_safe(e["type"], "\ufffd"),
                        "task": xml_safe(e["task"], "\ufffd"),
                        "score": f"{e['score']:.4f}",
                    }
                )
                annotation.add_location(bioc.BioCLocation(e["start"], e["end"] - e["start"]))
                annotation.text = xml_safe(e["text"])  # the passage's characters at the location, replaced alike
                passage.add_annotation(annotation)
        document.add_passage(passage)
        collection.add_document(document)
    if counts:
        which = ", ".join(f"U+{ord(c):04X} x{n}" for c, n in counts.most_common(5)) + (
            ", ..." if len(counts) > 5 else ""
        )
        total = sum(counts.values())
        log.warning(
            "BioC: %d %s that XML cannot hold (%s), in %d of %d documents, written as a space each; offsets are unchanged",
            total,
            "characters" if total > 1 else "character",
            which,
            touched,
            len(docs),
        )
    return biocxml.dumps(collection)


WRITERS = {"jsonl": _jsonl, "conll": _conll, "bioc": _bioc}


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
    _write(output, WRITERS[fmt](docs, records, list(model.tasks)))
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
