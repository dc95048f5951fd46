"""Column files with one token and its IOB tag per line (CLL, GELLUS, JNLPBA, SCAI).

Options: ``glob`` (files under the data dir), ``token_column`` / ``tag_column`` (0-based,
tab- or space-separated), ``tag_after_bar`` (SCAI: the tag column reads ``x|B-TYPE``),
``doc_header`` (a line starting with it opens a document whose ID follows it, JNLPBA
``###MEDLINE:93024383``, SCAI ``### 1732554``); without it each file is one document whose
ID is the file name with ``doc_id_strip`` stripped.
Blank lines end sentences.
"""

from __future__ import annotations

from pathlib import Path
from typing import Iterator

from mtlner.errors import UserError
from mtlner.data.huner.converters import Document, iob_to_document, read_text
from mtlner.data.huner.converters.ids import huner_strip


def read(data_dir: Path, options: dict) -> Iterator[Document]:
    paths = sorted(data_dir.glob(options["glob"]))
    if not paths:
        raise UserError(f"no files match {options['glob']!r} under {data_dir}")
    for path in paths:
        yield from _read_file(path, options)


def _read_file(path: Path, options: dict) -> Iterator[Document]:
    header = options.get("doc_header")
    doc_id = None if header else huner_strip(path.name, options.get("doc_id_strip", ""))
    sentences: list[list[tuple[str, str]]] = [[]]
    for number, line in enumerate(read_text(path, options["encoding"]).splitlines(), start=1):
        line = line.strip()
        if header and line.startswith(header):
            if doc_id is not None:
                yield iob_to_document(doc_id, sentences, source=str(path))
            doc_id = line[len(header) :].strip().split(":")[-1].strip()
            sentences = [[]]
        elif not line:
            if sentences[-1]:
                sentences.append([])
        else:
            sentences[-1].append(_token_and_tag(line, path, number, options))
    if doc_id is not None and any(sentences):
        yield iob_to_document(doc_id, sentences, source=str(path))


def _token_and_tag(line: str, path: Path, number: int, options: dict) -> tuple[str, str]:
    columns = line.split("\t") if "\t" in line else line.split()
    try:
        token = columns[options["token_column"]].strip()
        tag = columns[options["tag_column"]].strip()
        if options.get("tag_after_bar"):
            tag = tag.split("|")[-1].strip()
    except IndexError:
        raise UserError(f"{path}:{number}: expected a token and a tag column, got {line!r}") from None
    if tag != "O" and tag[:2] not in ("B-", "I-"):
        raise UserError(f"{path}:{number}: tag {tag!r} is not IOB (O, B-X, I-X)")
    return token, tag
