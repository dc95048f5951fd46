"""BioCreative II gene mention: ``train.in`` + ``GENE.eval``.

``*.in``: ``<sentence id> <sentence text>`` per line. ``GENE.eval``:
``<sentence id>|<start> <end>|<mention>`` where start and end count NON-SPACE characters
from 0 and end is inclusive (``"a bc"``: ``b`` is 1, ``c`` is 2). Each sentence is a
document (HUNER's split files list sentence IDs) and its own sentence.
Option ``pairs``: list of [sentences file, annotation file].
"""

from __future__ import annotations

from pathlib import Path
from typing import Iterator

from mtlner.errors import UserError
from mtlner.huner.converters import Document, Span, read_text


def read(data_dir: Path, options: dict) -> Iterator[Document]:
    for sentence_name, annotation_name in options["pairs"]:
        yield from read_pair(data_dir / sentence_name, data_dir / annotation_name, options["encoding"])


def read_pair(sentence_path: Path, annotation_path: Path, encoding: str = "utf-8") -> Iterator[Document]:
    documents: dict[str, Document] = {}
    for line in read_text(sentence_path, encoding).splitlines():
        if not line.strip():
            continue
        sentence_id, _, text = line.strip().partition(" ")
        documents[sentence_id] = Document(sentence_id, text, sentences=[(0, len(text))])
    for number, line in enumerate(read_text(annotation_path, encoding).splitlines(), start=1):
        if not line.strip():
            continue
        try:
            sentence_id, offsets, mention = line.rstrip("\r\n").split("|", 2)
            first, last = (int(value) for value in offsets.split())
        except ValueError:
            raise UserError(f"{annotation_path}:{number}: expected '<id>|<start> <end>|<text>'") from None
        doc = documents.get(sentence_id)
        if doc is None:
            raise UserError(f"{annotation_path}:{number}: sentence {sentence_id!r} not in {sentence_path}")
        try:
            start, end = non_space_to_char_offsets(doc.text, first, last)
        except ValueError as error:
            raise UserError(f"{annotation_path}:{number}: {error}") from None
        if doc.text[start:end] != mention:
            raise UserError(f"{annotation_path}:{number}: offsets {first} {last} give "
                            f"{doc.text[start:end]!r}, file says {mention!r}")
        doc.spans.append(Span(start, end, "gene"))
    yield from documents.values()


def non_space_to_char_offsets(text: str, first: int, last: int) -> tuple[int, int]:
    """Map BC2GM's space-skipping, end-inclusive offsets to ``[start, end)`` in ``text``."""
    start = end = None
    count = -1
    for index, char in enumerate(text):
        if char == " ":
            continue
        count += 1
        if count == first:
            start = index
        if count == last:
            end = index + 1
            break
    if start is None or end is None:
        raise ValueError(f"offsets {first} {last} beyond the sentence")
    return start, end
