"""``mtlner tag``'s output: the output location checked before any work, the three formats
(JSON lines, CoNLL, BioC XML) and the atomic write (an error leaves no output file, never a
partial one, and an existing output file stays as it was)."""

from __future__ import annotations

import json
import logging
import os
import re
import tempfile
from collections import Counter
from pathlib import Path

from mtlner.atomic import atomic_path
from mtlner.errors import UserError

log = logging.getLogger(__name__)
FORMATS = ("jsonl", "conll", "bioc")


def check_output(output: str | Path, inputs=()) -> Path:
    """Refuse, before any work, an output that cannot be written: an existing folder, a path
    under a file, a folder that is not writable, one of the inputs. Missing folders are
    created when the output is written."""
    path = Path(output)
    if str(output) == "" or path.name in ("", ".", ".."):
        raise UserError(f"output {str(output)!r} is not a file name", hint="give a file, e.g. -o tagged.jsonl")
    if path.is_dir():
        raise UserError(f"output {path} is a folder", hint=f"give a file name, e.g. -o {path / 'tagged.jsonl'}")
    try:
        resolved = path.resolve()
        for p in inputs:
            if Path(p).resolve() == resolved:
                raise UserError(
                    f"output {path} is also an input", hint="tagging would overwrite the text; choose another -o"
                )
    except OSError:  # a symlink loop and the like: the probe below says what is wrong
        pass
    folder = path.parent
    while not folder.exists() and folder != folder.parent:
        if folder.is_symlink():
            raise UserError(
                f"cannot write {path}: {folder} is a broken symbolic link", hint="choose another -o or fix the link"
            )
        folder = folder.parent
    if not folder.is_dir():
        raise UserError(f"cannot write {path}: {folder} is a file, not a folder", hint="choose another -o")
    try:  # a real write, not os.access: that says yes to root on a read-only mount
        fd, probe = tempfile.mkstemp(prefix=f".tmp-{path.name}-probe-", dir=folder)
        os.close(fd)
        os.unlink(probe)
    except OSError as err:
        raise UserError(
            f"cannot write {path}: folder {folder} is not writable ({err.strerror or err})",
            hint="choose another -o, or fix that folder's permissions",
        ) from err
    return path


def write_output(output: Path, text: str) -> None:
    try:
        with atomic_path(output) as tmp:
            tmp.write_text(text, encoding="utf-8")
    except OSError as err:
        raise UserError(
            f"cannot write {output}: {err.strerror or err}",
            hint="check free space and permissions there; nothing was written (an earlier file of that name is untouched)",
        ) from err


def _jsonl(docs, records, tasks) -> str:
    lines = []
    for doc_records in records:
        for r in doc_records:
            lines.append(json.dumps({k: v for k, v in r.items() if not k.startswith("_")}, ensure_ascii=False))
    return "".join(line + "\n" for line in lines)


def _conll(docs, records, tasks) -> str:
    lines = ["# token\tstart\tend\t" + "\t".join(tasks)]
    for doc, doc_records in zip(docs, records):
        lines += [f"-DOCSTART-\t{doc.name}", ""]
        for r in doc_records:
            for k, (start, end) in enumerate(r["_tokens"]):
                tags = "\t".join(r["_tags"][t][k] for t in tasks)
                lines.append(f"{doc.text[start:end]}\t{start}\t{end}\t{tags}")
            lines.append("")
    return "\n".join(lines) + "\n"


# XML 1.0 allows tab, LF, CR, U+0020-U+D7FF, U+E000-U+FFFD, U+10000-U+10FFFF; lxml refuses the rest.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def xml_safe(text: str, replacement: str = " ", counts: Counter | None = None) -> str:
    """``text`` with every character XML 1.0 cannot hold replaced by ``replacement`` (one for
    one when it is one character, so offsets into the text stay valid); ``counts`` tallies them."""
    if counts is not None:
        counts.update(_NOT_XML.findall(text))
    return _NOT_XML.sub(replacement, text)


def _bioc(docs, records, tasks) -> str:
    import bioc
    from bioc import biocxml

    collection = bioc.BioCCollection()
    collection.source = "mtlner tag"
    collection.key = "mtlner.key"
    number, counts, touched = 0, Counter(), 0
    for doc, doc_records in zip(docs, records):
        document = bioc.BioCDocument()
        document.id = xml_safe(doc.name, "\ufffd")  # a file name may hold anything but NUL and /
        passage = bioc.BioCPassage()
        passage.offset = 0
        before = sum(counts.values())
        passage.text = xml_safe(doc.text, " ", counts)
        touched += sum(counts.values()) > before
        for r in doc_records:
            for e in r["entities"]:
                number += 1
                annotation = bioc.BioCAnnotation()
                annotation.id = f"T{number}"
                annotation.infons.update(
                    {
                        "type": xml_safe(e["type"], "\ufffd"),
                        "task": xml_safe(e["task"], "\ufffd"),
                        "score": f"{e['score']:.4f}",
                    }
                )
                annotation.add_location(bioc.BioCLocation(e["start"], e["end"] - e["start"]))
                annotation.text = xml_safe(e["text"])  # the passage's characters at the location, replaced alike
                passage.add_annotation(annotation)
        document.add_passage(passage)
        collection.add_document(document)
    if counts:
        which = ", ".join(f"U+{ord(c):04X} x{n}" for c, n in counts.most_common(5)) + (
            ", ..." if len(counts) > 5 else ""
        )
        total = sum(counts.values())
        log.warning(
            "BioC: %d %s that XML cannot hold (%s), in %d of %d documents, written as a space each; offsets are unchanged",
            total,
            "characters" if total > 1 else "character",
            which,
            touched,
            len(docs),
        )
    return biocxml.dumps(collection)


WRITERS = {"jsonl": _jsonl, "conll": _conll, "bioc": _bioc}
