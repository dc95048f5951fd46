"""Plain-text documents plus one TSV of mentions (LINNAEUS, S800).

Options: ``text_dir`` (one ``<doc>.txt`` per document), ``annotations`` (TSV), ``header``
(skip the first line), ``doc_column`` (column holding the document name),
``doc_id_before_colon`` (S800 writes ``<doc>:<pmid>``), then start, end, text follow the
document column. ``inclusive_end``: S800's end offset points AT the last character
(``end + 1`` is the exclusive end), so start == end is a one-character mention (S800's
FMDV serotypes ``O``, ``A``); HUNER (``S800_species_to_conll.py``) kept them via
``map_offsets(start, end + 1)``. LINNAEUS' end is exclusive. Documents without mentions are
kept.
"""

from __future__ import annotations

from pathlib import Path
from typing import Iterator

from mtlner.errors import UserError
from mtlner.data.huner.converters import Document, Span, read_text
from mtlner.data.huner.converters.ids import huner_strip


def read(data_dir: Path, options: dict) -> Iterator[Document]:
    text_dir = data_dir / options["text_dir"]
    encoding = options["encoding"]
    strip = options.get("doc_id_strip", ".txt")
    documents: dict[str, Document] = {}
    for path in sorted(text_dir.glob("*.txt")):
        documents[path.stem] = Document(huner_strip(path.name, strip), read_text(path, encoding), source=str(path))
    annotation_path = data_dir / options["annotations"]
    column = options.get("doc_column", 1)
    lines = read_text(annotation_path, encoding).splitlines()
    for number, line in enumerate(lines, start=1):
        if (number == 1 and options.get("header")) or not line.strip():
            continue
        parts = line.rstrip("\r\n").split("\t")
        try:
            name = parts[column]
            start, end = int(parts[column + 1]), int(parts[column + 2])
            mention = parts[column + 3].strip()
        except (IndexError, ValueError):
            raise UserError(
                f"{annotation_path}:{number}: expected document, start, end, text from column {column}"
            ) from None
        if options.get("doc_id_before_colon"):
            name = name.split(":")[0]
        if name not in documents:
            raise UserError(f"{annotation_path}:{number}: no text file {name}.txt in {text_dir}")
        if options.get("inclusive_end"):
            end += 1
        doc = documents[name]
        if doc.text[start:end] != mention:
            raise UserError(
                f"{annotation_path}:{number}: offsets {start}-{end} in {name}.txt "
                f"give {doc.text[start:end]!r}, file says {mention!r}"
            )
        doc.spans.append(Span(start, end, "species"))
    yield from documents.values()
