"""BioInfer 1.1.1 XML: ``<sentence id>`` with ``<token id="t.S.T">`` made of
``<subtoken id="st.S.T.K" text>``; ``<entity type>`` lists its ``<nestedsubtoken id>``s.

As in HUNER a token's text is its subtokens concatenated, the sentence is its tokens
joined by single spaces (the source tokenisation is kept), an entity covers the whole
tokens of its subtokens, and every maximal run of consecutive entity tokens is one mention.
Document IDs are the sentence's position in the file (``"0"``, ``"1"``, ...), which is what
HUNER's ``bioinfer`` split files list. HUNER lost a mention that ended the sentence (a
loop-exit bug); we keep it.
Option ``xml``: the corpus file under the data dir.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Iterator

from mtlner.errors import UserError
from mtlner.data.huner.converters import Document, Span


def read(data_dir: Path, options: dict) -> Iterator[Document]:
    path = data_dir / options["xml"]
    try:
        root = ET.parse(path).getroot()
    except (ET.ParseError, OSError) as error:
        raise UserError(f"{path}: not readable BioInfer XML ({error})") from error
    for index, sentence in enumerate(root.iter("sentence")):
        yield _sentence(str(index), sentence, str(path))


def _token_key(element_id: str) -> str:
    """``t.3.7`` and ``st.3.7.0`` both give ``3.7`` (sentence.token)."""
    return ".".join(element_id.split(".")[1:3])


def _sentence(doc_id: str, sentence: ET.Element, source: str = "") -> Document:
    keys, offsets, words = [], [], []
    position = 0
    for token in sentence.iter("token"):
        word = "".join(sub.get("text", "") for sub in token.iter("subtoken"))
        if not word:
            continue
        keys.append(_token_key(token.get("id", "")))
        offsets.append(position)
        words.append(word)
        position += len(word) + 1
    text = " ".join(words)
    spans = []
    for entity in sentence.iter("entity"):
        covered = {_token_key(sub.get("id", "")) for sub in entity.iter("nestedsubtoken")}
        run_start = None
        for index, key in enumerate(keys + [None]):
            inside = key is not None and key in covered
            if inside and run_start is None:
                run_start = index
            elif not inside and run_start is not None:
                last = index - 1
                spans.append(Span(offsets[run_start], offsets[last] + len(words[last]), entity.get("type", "")))
                run_start = None
    return Document(doc_id, text, spans, [(0, len(text))], pretokenised=True, source=source)
