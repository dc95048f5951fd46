"""OSIRIS: ``articleN.txt`` (PMID, blank line, title, blank line, abstract) plus
``articleN.txt.ann`` XML with ``<Annotation type="ge" span="40..45">`` (end exclusive).
The document ID is the PMID on the first line; as in HUNER, that first line is not part
of the output (its text is replaced by spaces so offsets stay valid). Option ``dir``.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Iterator

from mtlner.errors import UserError
from mtlner.data.huner.converters import Document, Span, read_text


def read(data_dir: Path, options: dict) -> Iterator[Document]:
    folder = data_dir / options["dir"]
    annotation_files = sorted(folder.glob("*.txt.ann"))
    if not annotation_files:
        raise UserError(f"no OSIRIS *.txt.ann files in {folder}")
    for annotation_path in annotation_files:
        text = read_text(annotation_path.with_suffix(""), options["encoding"])
        first_line_end = text.find("\n") if "\n" in text else len(text)
        doc_id = text[:first_line_end].strip()
        blanked = " " * first_line_end + text[first_line_end:]
        doc = Document(doc_id, blanked, source=str(annotation_path))
        try:
            root = ET.parse(annotation_path).getroot()
        except ET.ParseError as error:
            raise UserError(f"{annotation_path}: not readable XML ({error})") from error
        for annotation in root.iter("Annotation"):
            start_text, _, end_text = (annotation.get("span") or "").partition("..")
            if not end_text:
                continue
            start, end = int(start_text), int(end_text)
            if start < first_line_end:  # the "file" annotation covers everything
                continue
            doc.spans.append(Span(start, end, annotation.get("type", "")))
        yield doc
