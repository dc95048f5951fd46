"""Tag raw text with a saved STL or MTL model: ``mtlner tag --model <folder> in.txt -o out.jsonl``.

Each input file is one document. Text is split into sentences and tokens with character
offsets by the same OpenNLP-like rules the HUNER preprocessing uses
(:mod:`mtlner.huner.tokenize`), packed into windows of at most ``max_length`` subwords by
:func:`mtlner.windows.build_windows` (as in training), and every task head of the model tags
every window. As in evaluation, a word takes the label of its last subword, and an entity is a
``B`` followed by its ``I`` words (strict IOB2; an ``I`` without a ``B`` starts nothing). An
entity's score is the mean, over its words, of the softmax probability of the label predicted
at the word's last subword.

Outputs (written atomically: an error leaves no output file, never a partial one):

- ``jsonl``: one JSON object per sentence: document, sentence index, character span, text,
  and its entities (task, type, start, end, text, score) from every head;
- ``conll``: ``token start end`` and one IOB2 column per task, ``-DOCSTART-`` per document;
- ``bioc``: BioC XML, one document per input file, one passage with the whole text, one
  annotation per entity (infons: type, task, score), offsets in characters.

Bad input: an empty or whitespace-only file gives a document without sentences (and a
warning); a binary file, a file that is not UTF-8, or a model folder without its heads stops
the run with a message naming the file; a token longer than a window is tagged as the
tokenizer's unknown token (so it is ``O``) with a warning naming its offset.
"""

from __future__ import annotations

import json
import logging
import time
from dataclasses import dataclass, field
from pathlib import Path

import torch

from .atomic import atomic_path
from .corpus import Document, Sentence
from .errors import UserError
from .huner.tokenize import split_sentences, tokenize
from .model import MultiTaskTagger
from .train import eval_batches
from .windows import LABEL_ID, LABELS, SPECIAL, Window, build_windows, word_positions

log = logging.getLogger(__name__)
FORMATS = ("jsonl", "conll", "bioc")


@dataclass
class TextDocument:
    name: str
    text: str
    sentences: list[tuple[int, int]] = field(default_factory=list)  # character spans
    tokens: list[list[tuple[int, int]]] = field(default_factory=list)  # per sentence


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
            f"{path} is not UTF-8 (byte {err.start}: {data[err.start:err.start + 1]!r})",
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


def _model_words(doc: TextDocument, tokenizer, budget: int) -> tuple[list[list[str]], set[int]]:
    """Token strings given to the encoder, and the (document-wide) indices of tokens that were
    replaced: a token of more subwords than a window holds becomes the unknown token, keeps its
    offsets and is tagged O."""
    sentences, replaced, index = [], set(), 0
    for spans in doc.tokens:
        words = []
        for start, end in spans:
            word = doc.text[start:end]
            if len(word) > 20 and len(tokenizer(word, add_special_tokens=False, verbose=False)["input_ids"]) > budget:
                log.warning("%s: the token at characters %d-%d is longer than a window; tagged O", doc.name, start, end)
                word = tokenizer.unk_token
                replaced.add(index)
            words.append(word)
            index += 1
        sentences.append(words)
    return sentences, replaced


# --------------------------------------------------------------------------- model


def load_model(folder: str | Path, device: torch.device):
    folder = Path(folder)
    if not folder.is_dir():
        raise UserError(f"model folder {folder} does not exist", hint="point --model to a model/ folder the workflow wrote, e.g. results/mtl/all/ablation_0.0/seed_1/model")
    model, tokenizer = MultiTaskTagger.load(folder)
    return model.to(device).eval(), tokenizer


@torch.inference_mode()
def predict_windows(model: MultiTaskTagger, windows: list[Window], pad_id: int, device, max_tokens: int, label_subwords: str = "all"):
    """Per window, per task: (label id, probability) of every word, read where the model was
    trained to put it (last subword, or first under ``label_subwords="first"``)."""
    out: list[dict[str, tuple[list[int], list[float]]] | None] = [None] * len(windows)
    for batch in eval_batches(windows, max_tokens):
        longest = max(len(windows[i].input_ids) for i in batch)
        ids = torch.full((len(batch), longest), pad_id, dtype=torch.long)
        mask = torch.zeros_like(ids)
        for row, i in enumerate(batch):
            n = len(windows[i].input_ids)
            ids[row, :n] = torch.tensor(windows[i].input_ids)
            mask[row, :n] = 1
        hidden = model.encoder(input_ids=ids.to(device), attention_mask=mask.to(device)).last_hidden_state
        per_task = {}
        for task, head in model.heads.items():
            probs = head(hidden).float().softmax(-1).cpu()
            best, label = probs.max(-1)
            per_task[task] = (label, best)
        for row, i in enumerate(batch):
            ends = word_positions(windows[i], label_subwords)
            out[i] = {t: (label[row, ends].tolist(), best[row, ends].tolist()) for t, (label, best) in per_task.items()}
    return out


def entities(labels: list[int], probs: list[float]) -> list[tuple[int, int, float]]:
    """Strict IOB2 entities of one sentence: (first word, last word + 1, mean probability)."""
    found, start = [], None

    def close(end: int) -> None:
        if start is not None:
            found.append((start, end, sum(probs[start:end]) / (end - start)))

    for i, label in enumerate(labels):
        name = LABELS[label] if label != SPECIAL else "O"
        if name == "I" and start is not None:
            continue
        close(i)
        start = i if name == "B" else None
    close(len(labels))
    return found


# --------------------------------------------------------------------------- tagging


def tag_documents(
    model: MultiTaskTagger, tokenizer, docs: list[TextDocument], max_length: int, device, max_tokens: int = 8192, label_subwords: str = "all"
) -> list[list[dict]]:
    """Per document, per sentence: a record with the sentence's span and all heads' entities."""
    inputs, replaced = [], []
    for d in docs:
        sentences, too_long = _model_words(d, tokenizer, max_length - 2)
        inputs.append(Document([Sentence(words, ["O"] * len(words)) for words in sentences], d.name))
        replaced.append(too_long)
    windows = build_windows(inputs, tokenizer, max_length, source="input")
    predicted = predict_windows(model, windows, tokenizer.pad_token_id, device, max_tokens, label_subwords)
    # concatenate word predictions per document (a window holds words of one document, in order)
    per_doc: list[dict[str, tuple[list[int], list[float]]]] = [{t: ([], []) for t in model.tasks} for _ in docs]
    for window, result in zip(windows, predicted):
        for task, (labels, probs) in result.items():
            per_doc[window.doc][task][0].extend(labels)
            per_doc[window.doc][task][1].extend(probs)
    records = []
    for d, result, too_long in zip(docs, per_doc, replaced):
        for labels, _ in result.values():
            for index in too_long:
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
                found.append({"task": task, "type": entity_type, "start": start, "end": end, "text": doc.text[start:end], "score": round(score, 4)})
        found.sort(key=lambda e: (e["start"], e["end"], e["task"]))
        tags = {task: _iob(result[task][0][offset : offset + n], tasks[task]) for task in tasks}
        records.append({"document": doc.name, "sentence": index, "start": s_start, "end": s_end, "text": doc.text[s_start:s_end], "entities": found, "_tokens": spans, "_tags": tags})
        offset += n
    return records


def _iob(labels: list[int], entity_type: str) -> list[str]:
    tags, inside = [], False
    for label in labels:
        name = LABELS[label] if label != SPECIAL else "O"
        if name == "B" or (name == "I" and inside):
            tags.append(f"{name}-{entity_type}")
            inside = True
        else:
            tags.append("O")
            inside = False
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


def _bioc(docs, records, tasks) -> str:
    import bioc
    from bioc import biocxml

    collection = bioc.BioCCollection()
    collection.source = "mtlner tag"
    collection.key = "mtlner.key"
    number = 0
    for doc, doc_records in zip(docs, records):
        document = bioc.BioCDocument()
        document.id = doc.name
        passage = bioc.BioCPassage()
        passage.offset = 0
        passage.text = doc.text
        for r in doc_records:
            for e in r["entities"]:
                number += 1
                annotation = bioc.BioCAnnotation()
                annotation.id = f"T{number}"
                annotation.infons.update({"type": e["type"], "task": e["task"], "score": f"{e['score']:.4f}"})
                annotation.add_location(bioc.BioCLocation(e["start"], e["end"] - e["start"]))
                annotation.text = e["text"]
                passage.add_annotation(annotation)
        document.add_passage(passage)
        collection.add_document(document)
    return biocxml.dumps(collection)


WRITERS = {"jsonl": _jsonl, "conll": _conll, "bioc": _bioc}


def tag_files(model_dir, inputs, output, fmt: str = "jsonl", max_length: int | None = None, device: str = "cpu", batch_tokens: int = 8192) -> dict:
    """Tag every input file (one document each) and write ``output`` atomically."""
    from .train import pick_device

    if fmt not in WRITERS:
        raise UserError(f"unknown output format {fmt!r}", hint=f"use one of {', '.join(FORMATS)}")
    if not inputs:
        raise UserError("no input files given", hint="mtlner tag --model MODEL file.txt [more.txt ...] -o out.jsonl")
    torch_device = pick_device(device)
    texts = [(str(p), read_text(p)) for p in inputs]  # all inputs checked before any work
    model, tokenizer = load_model(model_dir, torch_device)
    written = json.loads((Path(model_dir) / "model.json").read_text())
    trained = written.get("max_length")
    limit = min(trained or 512, model.encoder.config.max_position_embeddings)  # the training window size
    max_length = min(max_length or limit, model.encoder.config.max_position_embeddings)
    started = time.perf_counter()
    docs = [segment(name, text) for name, text in texts]
    for d in docs:
        if not d.sentences:
            log.warning("%s holds no text to tag", d.name)
    label_subwords = written.get("label_subwords", "all")
    records = tag_documents(model, tokenizer, docs, max_length, torch_device, batch_tokens, label_subwords) if any(d.sentences for d in docs) else [[] for _ in docs]
    seconds = time.perf_counter() - started
    with atomic_path(output) as tmp:
        tmp.write_text(WRITERS[fmt](docs, records, list(model.tasks)), encoding="utf-8")
    sentences = sum(len(d.sentences) for d in docs)
    tokens = sum(len(t) for d in docs for t in d.tokens)
    return {"output": str(output), "documents": len(docs), "sentences": sentences, "tokens": tokens, "seconds": seconds,
            "sentences_per_second": sentences / seconds if seconds else 0.0, "tokens_per_second": tokens / seconds if seconds else 0.0}
