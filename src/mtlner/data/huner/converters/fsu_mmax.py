"""FSU-PRGE in MMAX2 form: ``<root>/<subcorpus>/mmax/<doc>/`` with ``Basedata/Basedata.xml``
(``<word id="word_N">text</word>``), ``Markables/sentence.xml`` and ``Markables/proteins.xml``
(markables with ``span="word_3..word_5"``) and ``Basedata.uri`` holding the document ID.

The source's words and sentences are kept. Discontinuous markables (a span with a comma)
are skipped, as HUNER did; a document with missing or invalid XML is skipped and reported.
Options: ``root`` (release folder) and ``subcorpora`` (the folders HUNER used).
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Iterator

from mtlner.data.huner.converters import Document, Span


def read(data_dir: Path, options: dict) -> Iterator[Document]:
    root = data_dir / options["root"]
    for subcorpus in options["subcorpora"]:
        mmax = root / subcorpus / "mmax"
        if not mmax.is_dir():
            yield Document(f"<missing {subcorpus}>", "", dropped=[f"no folder {mmax}"])
            continue
        for folder in sorted(path for path in mmax.iterdir() if path.is_dir()):
            yield _document(folder)


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]  # MMAX markable files use XML namespaces


def _document(folder: Path) -> Document:
    try:
        doc_id = (folder / "Basedata.uri").read_text(encoding="utf-8").strip()
        words_root = ET.parse(folder / "Basedata" / "Basedata.xml").getroot()
        sentence_root = ET.parse(folder / "Markables" / "sentence.xml").getroot()
        protein_root = ET.parse(folder / "Markables" / "proteins.xml").getroot()
    except (OSError, ET.ParseError) as error:
        return Document(f"<skipped {folder.name}>", "", dropped=[f"{folder}: {error}"])

    words = [(element.get("id"), element.text or "") for element in words_root.iter() if _local(element.tag) == "word"]
    index_of = {word_id: index for index, (word_id, _) in enumerate(words)}
    ordered = sorted(sentence_root, key=lambda markable: int(markable.get("id", "0").split("_")[-1]))

    text, sentences, word_start, word_end = "", [], {}, {}
    for markable in ordered:
        first, _, last = (markable.get("span") or "").partition("..")
        if first not in index_of:
            continue
        last = last or first
        if text:
            text += "\n"
        sentence_start = len(text)
        for index in range(index_of[first], index_of[last] + 1):
            if len(text) > sentence_start:
                text += " "
            word_start[index] = len(text)
            text += words[index][1].replace(" ", "_")
            word_end[index] = len(text)
        sentences.append((sentence_start, len(text)))

    spans, dropped = [], []
    for markable in protein_root:
        span = markable.get("span") or ""
        first, _, last = span.partition("..")
        last = last or first
        if "," in span or first not in index_of or last not in index_of:
            dropped.append(f"{folder.name}: protein markable {markable.get('id')} span {span!r}")
            continue
        start_index, end_index = index_of[first], index_of[last]
        if start_index in word_start and end_index in word_end:
            kind = markable.get("proteins") or "protein"  # protein, protein_complex, ...
            spans.append(Span(word_start[start_index], word_end[end_index], kind))
    return Document(doc_id, text, spans, sentences, pretokenised=True, dropped=dropped, source=str(folder))
