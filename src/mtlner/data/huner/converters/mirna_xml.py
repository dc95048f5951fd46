"""miRNA corpus XML: ``<document id><sentence id text><entity charOffset="a-b" type/>``.

``charOffset`` is sentence-relative with an INCLUSIVE end (flair adds 1; HUNER used it as
exclusive, which only differs for one-character last tokens). Each source sentence is kept.
Option ``files``: the XML files under the data dir.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Iterator

from mtlner.errors import UserError
from mtlner.data.huner.converters import Document, Span


def read(data_dir: Path, options: dict) -> Iterator[Document]:
    for name in options["files"]:
        path = data_dir / name
        try:
            root = ET.parse(path).getroot()
        except (ET.ParseError, OSError) as error:
            raise UserError(f"{path}: not readable XML ({error})") from error
        for document in root.iter("document"):
            yield _document(document, path)


def _document(element: ET.Element, path: Path) -> Document:
    text, spans, sentences = "", [], []
    for sentence in element.iter("sentence"):
        if text:
            text += "\n"
        base = len(text)
        text += sentence.get("text", "")
        sentences.append((base, len(text)))
        for entity in sentence.iter("entity"):
            offsets = entity.get("charOffset", "")
            for part in offsets.split(","):  # discontinuous: one span per part
                first, _, last = part.partition("-")
                try:
                    spans.append(Span(base + int(first), base + int(last) + 1, entity.get("type", "")))
                except ValueError:
                    raise UserError(f"{path}: entity {entity.get('id')!r} has charOffset {offsets!r}") from None
    return Document(element.get("id", ""), text, spans, sentences, source=str(path))
