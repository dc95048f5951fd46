"""BioCreative II gene mention: ``train.in`` + ``GENE.eval``.

``*.in``: ``<sentence id> <sentence text>`` per line. ``GENE.eval``:
``<sentence id>|<start> <end>|<mention>`` where start and end count NON-SPACE characters
from 0 and end is inclusive (``"a bc"``: ``b`` is 1, ``c`` is 2). Each sentence is a
document (HUNER's split files list sentence IDs) and its own sentence.
Annotations whose offsets do not give their text are dropped and listed in the document's
``dropped`` (the conversion report counts them).
Option ``pairs``: list of [sentences file, annotation file].
"""

from __future__ import annotations

from pathlib import Path
from typing import Iterator

from mtlner.errors import UserError
from mtlner.data.huner.converters import Document, Span, read_text


def read(data_dir: Path, options: dict) -> Iterator[Document]:
    for sentence_name, annotation_name in options["pairs"]:
        yield from read_pair(data_dir / sentence_name, data_dir / annotation_name, options["encoding"])


def read_pair(sentence_path: Path, annotation_path: Path, encoding: str = "utf-8") -> Iterator[Document]:
    documents: dict[str, Document] = {}
    repeats: list[str] = []  # IDs listed again with the same text (yielded again: build counts them)
    for number, line in enumerate(read_text(sentence_path, encoding).splitlines(), start=1):
        if not line.strip():
            continue
        sentence_id, _, text = line.strip().partition(" ")
        if sentence_id in documents:
            # HUNER (bc2gm_gene_to_conll.py, main loop) asserts a repeated ID has the same text
            if documents[sentence_id].text != text:
                raise UserError(
                    f"{sentence_path}:{number}: sentence ID {sentence_id!r} occurs again with a different text",
                    hint="the file is not the BioCreative II GM release; download it again",
                )
            repeats.append(sentence_id)
            continue
        documents[sentence_id] = Document(sentence_id, text, sentences=[(0, len(text))], source=str(sentence_path))
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
            doc.dropped.append(
                f"{annotation_path.parent.name}/{annotation_path.name}:{number}: sentence {sentence_id!r}: {error}"
            )
            continue
        if doc.text[start:end] != mention:
            # HUNER (bc2gm_gene_to_conll.py) used the offsets as given, without checking the
            # text; train GENE.eval has one such line (P02196565T0000|162 187 gives
            # "/translation upstream factor"). We drop it and count it in the report.
            doc.dropped.append(
                f"{annotation_path.parent.name}/{annotation_path.name}:{number}: "
                f"sentence {sentence_id!r}: offsets {first} {last} give "
                f"{doc.text[start:end]!r}, annotation says {mention!r}"
            )
            continue
        doc.spans.append(Span(start, end, "gene"))
    yield from documents.values()
    for sentence_id in repeats:
        doc = documents[sentence_id]
        yield Document(sentence_id, doc.text, list(doc.spans), list(doc.sentences), source=doc.source)


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
