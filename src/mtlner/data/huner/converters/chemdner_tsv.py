"""BioCreative CHEMDNER-style standoff (CHEMDNER, CEMP, GPRO).

Text file: ``<doc id>\\t<title>\\t<abstract>`` per line. Annotation file:
``<doc id>\\t<T|A>\\t<start>\\t<end>\\t<text>\\t<type>`` with offsets into the title (T)
or the abstract (A), end exclusive. Each document becomes ``title + "\\n" + abstract``
(a newline is a hard sentence boundary, as in HUNER which split them separately).
Option ``pairs``: list of [text file, annotation file] under the data dir.
HUNER put the title after the abstract sentences for annotated documents; we keep the
natural order (title first), which changes no tokens or tags.
"""

from __future__ import annotations

from pathlib import Path
from typing import Iterator

from mtlner.errors import UserError
from mtlner.data.huner.converters import Document, Span, read_text


def read(data_dir: Path, options: dict) -> Iterator[Document]:
    for text_name, annotation_name in options["pairs"]:
        yield from read_pair(data_dir / text_name, data_dir / annotation_name, options["encoding"])


def read_pair(text_path: Path, annotation_path: Path, encoding: str = "utf-8") -> Iterator[Document]:
    documents: dict[str, Document] = {}
    title_length: dict[str, int] = {}
    repeats: list[str] = []  # IDs listed again with the same text (yielded again: build counts them)
    for number, line in enumerate(read_text(text_path, encoding).splitlines(), start=1):
        if not line.strip():
            continue
        parts = line.split("\t")
        if len(parts) < 3:
            raise UserError(f"{text_path}:{number}: expected '<id>\\t<title>\\t<abstract>'")
        doc_id, title, abstract = parts[0], parts[1], "\t".join(parts[2:])
        if doc_id in documents:
            if documents[doc_id].text != f"{title}\n{abstract}":
                raise UserError(
                    f"{text_path}:{number}: document ID {doc_id!r} occurs again with a different text",
                    hint="download the corpus again",
                )
            repeats.append(doc_id)
            continue
        documents[doc_id] = Document(doc_id, f"{title}\n{abstract}", source=str(text_path))
        title_length[doc_id] = len(title)
    for number, line in enumerate(read_text(annotation_path, encoding).splitlines(), start=1):
        if not line.strip():
            continue
        parts = line.split("\t")
        try:
            doc_id, section, start, end = parts[0], parts[1], int(parts[2]), int(parts[3])
        except (IndexError, ValueError):
            raise UserError(
                f"{annotation_path}:{number}: expected '<id>\\t<T|A>\\t<start>\\t<end>\\t<text>\\t<type>'"
            ) from None
        if doc_id not in documents:
            raise UserError(f"{annotation_path}:{number}: document {doc_id!r} not in {text_path}")
        shift = 0 if section == "T" else title_length[doc_id] + 1
        source_type = parts[5].strip() if len(parts) > 5 else "entity"
        doc = documents[doc_id]
        doc.spans.append(Span(start + shift, end + shift, source_type))
        if len(parts) > 4 and doc.text[start + shift : end + shift] != parts[4]:
            raise UserError(
                f"{annotation_path}:{number}: offsets {start}-{end} give "
                f"{doc.text[start + shift : end + shift]!r}, file says {parts[4]!r}"
            )
    yield from documents.values()
    for doc_id in repeats:
        doc = documents[doc_id]
        yield Document(doc_id, doc.text, list(doc.spans), source=doc.source)
