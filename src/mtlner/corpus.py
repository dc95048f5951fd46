"""Read, validate, normalise and write CoNLL-style NER corpora.

Input format (one file per split): one ``token<TAB or spaces>[...]<tag>`` per line (the token is
the first column, the tag the last), a blank line between sentences, and optional
``-DOCSTART-`` lines that start a new document. Tags may be IOB2, IOB1-style (I without B) or
IOBES, with any type name. Each task has exactly one entity type, so tags are normalised to
``B``/``I``/``O`` with that type recorded once per task.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field
from pathlib import Path

from .atomic import atomic_path
from .errors import UserError
from .inference import iob_spans

log = logging.getLogger(__name__)

SPLITS = ("train", "dev", "test")
DOCSTART = "-DOCSTART-"
_TAG_RE = re.compile(r"^(?:(?P<prefix>[BIESO])(?:[-_](?P<type>.+))?)$")


@dataclass
class Sentence:
    tokens: list[str]
    tags: list[str]  # B / I / O only
    line: int = 0  # 1-based line of the first token in the source file (for error messages)


@dataclass
class TaggedDocument:
    """One document of a prepared corpus: tokenised sentences with B/I/O tags (what
    :func:`read_conll` reads and :func:`mtlner.windows.build_windows` packs). The raw text with
    character spans that the HUNER converters read is :class:`mtlner.huner.converters.Document`."""

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


def read_conll(path: str | Path) -> tuple[list[TaggedDocument], ReadReport]:
    """Read one split file into documents of sentences with B/I/O tags.

    IOBES is converted to IOB2; an ``I`` that does not continue an entity is repaired to ``B``
    with a warning naming the line. Raises :class:`UserError` for missing files, lines with one
    column, unknown tags and files without any sentence.
    """
    path = Path(path)
    if not path.is_file():
        raise UserError(f"corpus file {path} does not exist", hint="check corpora_dir and the task name in the config")
    report = ReadReport(path=str(path))
    docs: list[TaggedDocument] = [TaggedDocument()]
    tokens: list[str] = []
    tags: list[str] = []
    first_line = 0

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
    for line_no, line in enumerate(text.splitlines(), start=1):
        stripped = line.strip()
        if not stripped:
            end_sentence()
            continue
        fields = stripped.split("\t") if "\t" in stripped else stripped.split()
        if fields[0] == DOCSTART:
            end_sentence()
            doc_id = fields[1] if len(fields) > 2 else ""
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
        prefix, etype = _parse_tag(fields[-1].strip(), path, line_no)
        if etype:
            report.entity_types_seen[etype] = report.entity_types_seen.get(etype, 0) + (prefix in "BS")
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
            if report.repaired_i_without_b <= 5:
                report.warnings.append(f"{path}:{line_no}: I tag without a preceding B; repaired to B")
            prefix = "B"
        tokens.append(fields[0])
        tags.append(prefix)
    end_sentence()
    docs = [d for d in docs if d.sentences]
    if not docs:
        raise UserError(
            f"{path}: no sentences found (empty split)", hint="each of train/dev/test needs at least one sentence"
        )
    if report.repaired_i_without_b > 5:
        report.warnings.append(f"{path}: {report.repaired_i_without_b} I-without-B tags repaired in total")
    for warning in report.warnings:
        log.warning(warning)
    return docs, report


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
