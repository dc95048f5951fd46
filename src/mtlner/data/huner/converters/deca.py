"""DECA: ``text/<doc>`` files and ``gold.txt`` lines ``<file>\\t<start>\\t<end>\\t<text>``
(end exclusive). Options: ``text_dir``, ``gold``. Hidden files are ignored."""

from __future__ import annotations

from pathlib import Path
from typing import Iterator

from mtlner.errors import UserError
from mtlner.data.huner.converters import Document, Span, read_text
from mtlner.data.huner.converters.ids import huner_strip


def read(data_dir: Path, options: dict) -> Iterator[Document]:
    text_dir = data_dir / options["text_dir"]
    encoding = options["encoding"]
    documents = {
        path.name: Document(huner_strip(path.name, ".txt"), read_text(path, encoding), source=str(path))
        for path in sorted(text_dir.iterdir())
        if path.is_file() and not path.name.startswith(".")
    }
    gold = data_dir / options["gold"]
    for number, line in enumerate(read_text(gold, encoding).splitlines(), start=1):
        if not line.strip():
            continue
        parts = line.split("\t")
        try:
            name, start, end, mention = parts[0], int(parts[1]), int(parts[2]), parts[3]
        except (IndexError, ValueError):
            raise UserError(f"{gold}:{number}: expected '<file>\\t<start>\\t<end>\\t<text>'") from None
        doc = documents.get(name)
        if doc is None:
            raise UserError(f"{gold}:{number}: no file {name!r} in {text_dir}")
        if doc.text[start:end] != mention:
            raise UserError(
                f"{gold}:{number}: offsets {start}-{end} give {doc.text[start:end]!r}, gold.txt says {mention!r}"
            )
        doc.spans.append(Span(start, end, "gene"))
    yield from documents.values()
