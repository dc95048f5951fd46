"""Read, validate, normalise and write CoNLL-style NER corpora.

Input format (one file per split): one ``token<TAB or spaces>[...]<tag>`` per line (the token is
the first column, the tag the last; columns are split at tabs where a line has one, else at
ASCII spaces, never at other Unicode whitespace), a blank line between sentences, and optional
``-DOCSTART-`` lines that start a new document (``-DOCSTART-``, ``-DOCSTART-<TAB>ID<TAB>O``, or
CoNLL-2003's ``-DOCSTART- -X- -X- O``, which carries no ID). Files without them can give their
boundaries another way (:class:`Boundaries`). Tags may be IOB2, IOB1-style (I without B) or
IOBES. Each task has exactly one entity type (any case or spelling of its name), so tags are
normalised to ``B``/``I``/``O`` with that type recorded once per task.
"""

from __future__ import annotations

import logging
import re
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path

from mtlner.atomic import atomic_path
from mtlner.errors import UserError
from mtlner.data.labels import iob_spans

log = logging.getLogger(__name__)

SPLITS = ("train", "dev", "test")
DOCSTART = "-DOCSTART-"
NO_DOCUMENTS = "none: whole split is one document"
_TAG_RE = re.compile(r"^(?:(?P<prefix>[BIESO])(?:[-_](?P<type>.+))?)$")


@dataclass
class Sentence:
    tokens: list[str]
    tags: list[str]  # B / I / O only
    line: int = 0  # 1-based line of the first token in the file read (for error messages)
    origin: str = ""  # of a prepared corpus's sentence: the user's file:line (see attach_origins)


@dataclass
class TaggedDocument:
    """One document of a prepared corpus: tokenised sentences with B/I/O tags (what
    :func:`read_conll` reads and :func:`mtlner.data.windows.build_windows` packs). The raw text with
    character spans that the HUNER converters read is :class:`mtlner.data.huner.converters.Document`."""

    sentences: list[Sentence] = field(default_factory=list)
    doc_id: str = ""


@dataclass
class ReadReport:
    """What normalisation changed, so it is never silent."""

    path: str
    entity_types_seen: dict[str, int] = field(default_factory=dict)
    repaired_i_without_b: int = 0
    converted_iobes: int = 0
    warnings: list[str] = field(default_factory=list)
    first_line_of_type: dict[str, int] = field(default_factory=dict)
    docstart_lines: int = 0
    documents_from: str = ""  # "docstart", NO_DOCUMENTS, "blank_lines:N" or "sentences:N"


def normalise_entity_type(name: str) -> str:
    """One spelling per entity type: case-folded, spaces and hyphens as underscores, so that
    "Cell line", "cell-line" and "cell_line" are one group in MTL and entity ablation."""
    return re.sub(r"[\s\-]+", "_", name.strip()).lower()


def normalise_entity_types(entities: dict[str, str]) -> tuple[dict[str, str], list[str]]:
    """Task -> entity type, normalised; plus a warning for every group that met in several spellings."""
    normalised = {task: normalise_entity_type(entity) for task, entity in entities.items()}
    spellings: dict[str, set[str]] = {}
    for task, entity in entities.items():
        spellings.setdefault(normalised[task], set()).add(entity)
    warnings = [
        f"entity types {sorted(names)} are treated as one type {group!r} (case and spaces are ignored)"
        for group, names in sorted(spellings.items())
        if len(names) > 1
    ]
    return normalised, warnings


def _parse_tag(raw: str, path: Path, line_no: int) -> tuple[str, str | None]:
    match = _TAG_RE.match(raw)
    if raw == "O":
        return "O", None
    if not match or match.group("prefix") == "O":
        raise UserError(
            f"{path}:{line_no}: tag {raw!r} is not in the IOB2/IOBES scheme",
            hint="tags must be O, B-<type>, I-<type> (IOB2) or S-/E- (IOBES); check the last column",
        )
    return match.group("prefix"), match.group("type")


@dataclass(frozen=True)
class Boundaries:
    """Where a split's documents start (config ``tasks.<name>.documents``, CLI ``--documents``).

    ``docstart`` (default): at ``-DOCSTART-`` lines; a file without them is one document, with
    a warning. ``blank_lines`` N: also where N or more consecutive blank lines separate two
    sentences. ``sentences`` N: every N sentences of a document (of the whole split where it
    has no ``-DOCSTART-`` lines) form a document of their own.
    """

    by: str = "docstart"
    n: int = 0

    @classmethod
    def parse(cls, spec: str | None) -> Boundaries:
        """``docstart``, ``blank_lines:N`` (N >= 2) or ``sentences:N`` (N >= 1)."""
        by, _, number = (spec or "docstart").partition(":")
        least = {"docstart": None, "blank_lines": 2, "sentences": 1}
        if by not in least or (least[by] is None) != (number == ""):
            raise UserError(
                f"documents {spec!r} is not docstart, blank_lines:N or sentences:N",
                hint="config: documents: {by: docstart} | {by: blank_lines, n: 2} | {by: sentences, n: 10}",
            )
        if least[by] is not None and (not number.isdigit() or int(number) < least[by]):
            raise UserError(f"documents {spec!r}: N must be a whole number >= {least[by]}")
        return cls(by, int(number) if number else 0)

    def __str__(self) -> str:
        return self.by if self.by == "docstart" else f"{self.by}:{self.n}"


# columns: a tab where the line has one, else runs of spaces and tabs, never other Unicode
# whitespace (str.split() would cut "10\u00a0mg" in two and drop the second half)
_COLUMNS = re.compile(r"[ \t]+")
_EDGES = " \t\r\x0b\x0c"  # ASCII whitespace only: a no-break space at a token's edge is the token's
# -DOCSTART- second columns that are a placeholder, not an ID (CoNLL-2003: -DOCSTART- -X- -X- O)
_NO_ID = {"-X-", "O", "_", "-"}
_WARN_LINES = 5  # warnings of one kind that name their line; then one total


def _odd_characters(token: str) -> list[str]:
    """Whitespace, separators, control and format characters other than the ASCII space."""
    return sorted(
        {
            unicodedata.name(c, f"U+{ord(c):04X}")
            for c in token
            if c != " " and unicodedata.category(c) in ("Zs", "Zl", "Zp", "Cc", "Cf")
        }
    )


def read_conll(path: str | Path, documents: Boundaries | str | None = None) -> tuple[list[TaggedDocument], ReadReport]:
    """Read one split file into documents of sentences with B/I/O tags.

    Lines end at ``\n`` (or ``\r\n``, ``\r``) only: NEL, U+2028/U+2029 and form feeds inside a
    token stay in it. IOBES is converted to IOB2; an ``I`` that does not continue an entity is repaired to
    ``B`` with a warning naming the line; a token holding unusual whitespace or control
    characters is kept whole, with a warning. Raises :class:`UserError` for missing files,
    lines with one column, unknown tags, a file with several entity types (case and spelling
    variants of one type are one type) and files without any sentence. ``documents``: where
    documents start (:class:`Boundaries`; ``report.documents_from`` says what was used).
    """
    path = Path(path)
    bounds = documents if isinstance(documents, Boundaries) else Boundaries.parse(documents)
    if not path.is_file():
        raise UserError(f"corpus file {path} does not exist", hint="check corpora_dir and the task name in the config")
    report = ReadReport(path=str(path))
    docs: list[TaggedDocument] = [TaggedDocument()]
    tokens: list[str] = []
    tags: list[str] = []
    first_line = 0
    blank_run = 0
    odd_tokens = 0

    def end_sentence() -> None:
        nonlocal tokens, tags
        if tokens:
            docs[-1].sentences.append(Sentence(tokens, tags, first_line))
        tokens, tags = [], []

    try:
        # utf-8-sig: a byte-order mark (written by some Windows editors) would otherwise become
        # part of the first token ("\ufeff-DOCSTART-") and silently change the corpus
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as err:
        raise UserError(
            f"{path}: not UTF-8 (byte {err.start})", hint="convert the file to UTF-8, e.g. iconv -f latin1 -t utf-8"
        ) from err
    # split("\n"), not splitlines(): that also ends a line at NEL, U+2028, U+2029, form feeds...
    # (read_text already turned \r\n and a lone \r into \n: universal newlines)
    for line_no, line in enumerate(text.split("\n"), start=1):
        stripped = line.strip(_EDGES)
        if not stripped:
            end_sentence()
            blank_run += 1
            continue
        fields = stripped.split("\t") if "\t" in stripped else _COLUMNS.split(stripped)
        if fields[0] == DOCSTART:
            end_sentence()
            blank_run = 0
            report.docstart_lines += 1
            doc_id = fields[1].strip(_EDGES) if len(fields) > 2 else ""
            doc_id = "" if doc_id in _NO_ID else doc_id
            if docs[-1].sentences:
                docs.append(TaggedDocument(doc_id=doc_id))
            else:
                docs[-1].doc_id = doc_id
            continue
        if len(fields) < 2:
            raise UserError(
                f"{path}:{line_no}: expected 'token<TAB>tag', found one column: {stripped[:60]!r}",
                hint="every non-blank line needs a token and a tag; blank lines separate sentences",
            )
        if bounds.by == "blank_lines" and blank_run >= bounds.n and not tokens and docs[-1].sentences:
            docs.append(TaggedDocument())
        blank_run = 0
        prefix, etype = _parse_tag(fields[-1].strip(), path, line_no)
        if etype:
            report.entity_types_seen[etype] = report.entity_types_seen.get(etype, 0) + (prefix in "BS")
            report.first_line_of_type.setdefault(etype, line_no)
        if not tokens:
            first_line = line_no
        previous = tags[-1] if tags else "O"
        if prefix == "S":
            prefix = "B"
            report.converted_iobes += 1
        elif prefix == "E":
            prefix = "I"
            report.converted_iobes += 1
        if prefix == "I" and previous == "O":
            report.repaired_i_without_b += 1
            if report.repaired_i_without_b <= _WARN_LINES:
                report.warnings.append(f"{path}:{line_no}: I tag without a preceding B; repaired to B")
            prefix = "B"
        odd = _odd_characters(fields[0])
        if odd:
            odd_tokens += 1
            if odd_tokens <= _WARN_LINES:
                report.warnings.append(
                    f"{path}:{line_no}: token {fields[0]!r} holds {', '.join(odd)}; kept as one token "
                    "(columns are split at tabs, or at ASCII spaces, only)"
                )
        tokens.append(fields[0])
        tags.append(prefix)
    end_sentence()
    docs = [d for d in docs if d.sentences]
    if not docs:
        raise UserError(
            f"{path}: no sentences found (empty split)", hint="each of train/dev/test needs at least one sentence"
        )
    _check_one_type(report, path)
    docs = _cut_documents(docs, bounds, report, path)
    if report.repaired_i_without_b > _WARN_LINES:
        report.warnings.append(f"{path}: {report.repaired_i_without_b} I-without-B tags repaired in total")
    if odd_tokens > _WARN_LINES:
        report.warnings.append(f"{path}: {odd_tokens} tokens with unusual whitespace or control characters in total")
    for warning in report.warnings:
        log.warning(warning)
    return docs, report


def _check_one_type(report: ReadReport, path: Path) -> None:
    """A task has one entity type: a file with two (B-Chemical and B-Disease) is refused, not
    relabelled; "gene", "Gene" and "GENE" are one type."""
    groups: dict[str, list[str]] = {}
    for name in report.entity_types_seen:
        groups.setdefault(normalise_entity_type(name), []).append(name)
    if len(groups) < 2:
        return

    def mentions(names: list[str]) -> int:
        return sum(report.entity_types_seen[n] for n in names)

    ranked = sorted(groups.values(), key=lambda names: (-mentions(names), names))
    parts = [
        f"{'/'.join(names)} ({mentions(names)} mention{'s' * (mentions(names) != 1)}, first at line "
        f"{min(report.first_line_of_type[n] for n in names)})"
        for names in ranked
    ]
    raise UserError(
        f"{path}: holds {len(groups)} entity types, but a task has one: {'; '.join(parts)}",
        hint="give each type its own task: one folder per type, with the other types' tags set to O, and "
        "tasks.<name>.entity naming its type; or, if they are one type spelt two ways, write one spelling",
    )


def _cut_documents(docs: list[TaggedDocument], bounds: Boundaries, report: ReadReport, path: Path):
    """Apply ``sentences:N`` and record (and warn about) where the documents came from."""
    sentences = sum(len(d.sentences) for d in docs)
    if bounds.by == "sentences":
        docs = [
            TaggedDocument(d.sentences[i : i + bounds.n], d.doc_id)
            for d in docs
            for i in range(0, len(d.sentences), bounds.n)
        ]
        report.documents_from = str(bounds)
    elif bounds.by == "blank_lines":
        report.documents_from = str(bounds)
        if len(docs) == 1 and sentences > 1:
            report.warnings.append(
                f"{path}: no -DOCSTART- line and no run of {bounds.n} blank lines: the whole split "
                f"({sentences} sentences) is one document; check documents.n (docs/new-corpus.md)"
            )
    elif report.docstart_lines:
        report.documents_from = "docstart"
    else:
        report.documents_from = NO_DOCUMENTS
        if sentences > 1:
            report.warnings.append(
                f"{path}: no -DOCSTART- lines, so the whole split ({sentences} sentences) is one document: "
                "windows pack sentences of unrelated documents together and the document bootstrap has "
                "one document to resample; give boundaries with the task's documents key, e.g. "
                "documents: {by: blank_lines, n: 2} or {by: sentences, n: 10} (docs/new-corpus.md)"
            )
    return docs


def check_same_type(reports: list[ReadReport]) -> None:
    """The splits of one task tag one entity type (in any spelling): a train split of
    chemicals with a test split of diseases is two corpora mixed up, not one task."""
    types = {r.path: sorted({normalise_entity_type(t) for t in r.entity_types_seen}) for r in reports}
    if len({tuple(t) for t in types.values() if t}) > 1:
        raise UserError(
            "the splits of one task tag different entity types: "
            + "; ".join(f"{path}: {', '.join(t) or 'none'}" for path, t in types.items()),
            hint="a task's train, dev and test files must come from one corpus and tag one type",
        )


def check_mentions(split: str, path: str | Path, mentions: int, kept: int | None = None) -> str | None:
    """A training split without any mention is a :class:`UserError`; a dev or test split
    without one: the returned warning. ``kept``: the documents kept by max_documents."""
    if mentions:
        return None
    what = f"{path}: the {split} split holds no mention (no B-, I- or S- tag)"
    if kept is not None:
        what += f" in the {kept} documents that max_documents keeps"
    if split == "train":
        raise UserError(
            what,
            hint="the model would learn that nothing is an entity; check that the tag is the last column and that "
            "this is the right file (or raise max_documents.train)",
        )
    return f"{what}: its scores will be 0 (or undefined); check the file"


def write_conll(docs: list[TaggedDocument], path: str | Path, entity: str) -> None:
    """Write documents as IOB2 with the task's entity type, atomically."""
    lines: list[str] = []
    for doc in docs:
        lines.append(f"{DOCSTART}\t{doc.doc_id}\tO" if doc.doc_id else f"{DOCSTART}\tO")
        lines.append("")
        for sent in doc.sentences:
            lines.extend(
                f"{tok}\t{tag if tag == 'O' else tag + '-' + entity}" for tok, tag in zip(sent.tokens, sent.tags)
            )
            lines.append("")
    with atomic_path(path) as tmp:
        tmp.write_text("\n".join(lines) + "\n", encoding="utf-8")


def first_sentences(docs: list[TaggedDocument], limit: int | None) -> list[TaggedDocument]:
    """The first ``limit`` sentences of a split, document structure kept (None: all)."""
    if limit is None:
        return docs
    out, left = [], limit
    for d in docs:
        if left <= 0:
            break
        out.append(TaggedDocument(d.sentences[:left], d.doc_id))
        left -= len(out[-1].sentences)
    return out


def source_lines(docs: list[TaggedDocument]) -> str:
    """The source line of every sentence, in order, comma-separated: stats.json's
    ``source.<split>.lines`` (one string, so that stats.json stays readable)."""
    return ",".join(str(s.line) for d in docs for s in d.sentences)


def attach_origins(docs: list[TaggedDocument], stats_path: str | Path, split: str) -> bool:
    """Give each sentence of a prepared split its user's ``file:line`` (``Sentence.origin``)
    from the ``source`` map that prepare wrote to stats.json; False (origins left empty) where
    there is none or it does not fit, e.g. a corpus prepared before the map existed."""
    import json

    try:
        source = json.loads(Path(stats_path).read_text(encoding="utf-8"))["source"][split]
        file, lines = source["file"], [int(n) for n in source["lines"].split(",")]
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return False
    sentences = [s for d in docs for s in d.sentences]
    if len(lines) != len(sentences):
        return False
    for sentence, line in zip(sentences, lines):
        sentence.origin = f"{file}:{line}"
    return True


def split_stats(docs: list[TaggedDocument]) -> dict[str, float]:
    """Counts for Table 1 and the correlation analysis: mentions (total/unique), tokens, density."""
    sentences = [s for d in docs for s in d.sentences]
    tokens = sum(len(s.tokens) for s in sentences)
    # read_conll repairs an I without a B to B, so every mention of a read corpus is a strict-IOB2 span
    mentions = [" ".join(s.tokens[a:b]) for s in sentences for a, b, _ in iob_spans(s.tags)]
    return {
        "documents": len(docs),
        "sentences": len(sentences),
        "tokens": tokens,
        "mentions": len(mentions),
        "unique_mentions": len(set(mentions)),
        "density": len(mentions) / tokens if tokens else 0.0,
    }
