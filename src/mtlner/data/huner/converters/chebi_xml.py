"""ChEBI patent gold standard (``PatentAnnotations_GoldStandard.tgz``, SciXML-like).

Layout: ``<root>/<patent id>/<file>.xml``; the document ID is the patent folder's name.
Text lives in ``<snippet>`` elements; mentions are elements with a ``type`` attribute
(``<ne type="CM">aspirin</ne>``), possibly nested. Every typed element becomes a span with
its type; the task's type table keeps CHEMICAL, FORMULA, LIGAND, CM and CLASS as HUNER did,
and overlap merging gives HUNER's "outermost chemical element wins".
Snippets are joined with newlines, and newlines are sentence boundaries (HUNER split each
snippet line separately). The files are parsed leniently as HTML (HUNER used
BeautifulSoup with lxml), so stray entities or unbalanced tags do not stop the conversion.
Option ``root``: the folder holding the patent folders.
"""

from __future__ import annotations

from html.parser import HTMLParser
from pathlib import Path
from typing import Iterator

from mtlner.errors import UserError
from mtlner.data.huner.converters import Document, Span, read_text


def read(data_dir: Path, options: dict) -> Iterator[Document]:
    root = data_dir / options["root"]
    files = sorted(root.glob("*/*.xml"))
    if not files:
        raise UserError(f"no ChEBI patent files (<patent>/<file>.xml) under {root}")
    for path in files:
        parser = _SnippetParser()
        parser.feed(read_text(path, options["encoding"]))
        parser.close()
        text = "\n".join(parser.snippets)
        spans, offset = [], 0
        for snippet, snippet_spans in zip(parser.snippets, parser.spans):
            spans.extend(Span(offset + start, offset + end, kind) for start, end, kind in snippet_spans)
            offset += len(snippet) + 1
        yield Document(path.parent.name, text, spans, source=str(path))


class _SnippetParser(HTMLParser):
    """Collects the text of each <snippet> and the spans of typed elements inside it."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.snippets: list[str] = []
        self.spans: list[list[tuple[int, int, str]]] = []
        self._parts: list[str] | None = None  # text of the open snippet
        self._length = 0
        self._open: list[tuple[str, int, str | None]] = []  # (tag, start, type) inside the snippet

    def handle_starttag(self, tag, attrs):
        if tag == "snippet":
            self._parts, self._length, self._open = [], 0, []
            self.spans.append([])
        elif self._parts is not None:
            self._open.append((tag, self._length, dict(attrs).get("type")))

    def handle_endtag(self, tag):
        if self._parts is None:
            return
        if tag == "snippet":
            self.snippets.append("".join(self._parts))
            self._parts = None
            return
        # close the innermost open element with this tag (tolerates unbalanced markup)
        for index in range(len(self._open) - 1, -1, -1):
            if self._open[index][0] == tag:
                _, start, kind = self._open.pop(index)
                if kind:
                    self.spans[-1].append((start, self._length, kind))
                break

    def handle_data(self, data):
        if self._parts is not None:
            self._parts.append(data)
            self._length += len(data)
