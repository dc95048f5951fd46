"""BioC XML (CDR, IEPA, VARIOME).

Each ``<document>`` has an ``<id>`` and ``<passage>``s with ``<offset>`` and ``<text>``;
``<annotation>``s carry ``<infon key="type">``, one or more ``<location offset length>``
(document-level offsets when the document has several passages) and ``<text>``.
Passages are laid out at their offsets (gaps filled with newlines, which are sentence
boundaries); annotations with several locations (discontinuous) are skipped as in HUNER.
The document's source sentences are the lines of its passages (IEPA keeps them).
Options: ``files`` (the BioC files under the data dir); ``text_replacements`` (pairs
applied to passage text before offsets are used: VARIOME has a two-character encoding
artefact "\ufffd?" where its offsets count one character, which HUNER's variome.patch
replaced by "?").
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Iterator

from mtlner.errors import UserError
from mtlner.data.huner.converters import Document, Span


def read(data_dir: Path, options: dict) -> Iterator[Document]:
    replacements = [tuple(pair) for pair in options.get("text_replacements") or []]
    for name in options["files"]:
        yield from read_file(data_dir / name, replacements)


def read_file(path: Path, replacements: list[tuple[str, str]] = ()) -> Iterator[Document]:
    try:
        tree = ET.parse(path)
    except (ET.ParseError, OSError) as error:
        raise UserError(f"{path}: not readable BioC XML ({error})") from error
    for element in tree.getroot().iter("document"):
        yield _document(element, path, replacements)


def _document(element: ET.Element, path: Path, replacements) -> Document:
    doc_id = (element.findtext("id") or "").strip()
    passages = element.findall("passage")
    single = len(passages) == 1  # HUNER: one passage => offsets are passage-relative
    text = ""
    spans: list[Span] = []
    dropped: list[str] = []
    for passage in passages:
        passage_offset = int(passage.findtext("offset") or 0)
        passage_text = passage.findtext("text") or ""
        for old, new in replacements:
            passage_text = passage_text.replace(old, new)
        placed_at = 0 if single else max(passage_offset, len(text) + 1 if text else 0)
        text = text.ljust(placed_at, "\n") + passage_text
        base = placed_at - (0 if single else passage_offset)
        for annotation in passage.iter("annotation"):
            locations = annotation.findall("location")
            if len(locations) != 1:
                continue
            types = [infon.text or "" for infon in annotation.findall("infon") if infon.get("key") == "type"]
            start = int(locations[0].get("offset")) + base
            end = start + int(locations[0].get("length"))
            expected = (annotation.findtext("text") or "").lower()
            if text[start:end].lower() != expected:
                # HUNER patched such cases by hand (variome.patch, CDR patch); we drop and report
                dropped.append(
                    f"{path.name}: document {doc_id!r} annotation {annotation.get('id')!r}: "
                    f"offsets give {text[start:end]!r}, annotation says {expected!r}"
                )
                continue
            spans.extend(Span(start, end, source_type) for source_type in types)
    sentences = [(m.start(), m.end()) for m in re.finditer(r"[^\n]+", text) if m.group().strip()]
    return Document(doc_id, text, spans, sentences, dropped=dropped, source=str(path))
