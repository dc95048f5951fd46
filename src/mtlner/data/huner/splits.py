"""Train/dev/test assignment by HUNER's document-ID split files.

HUNER's ``ner_scripts/splits/<name>.{train,dev,test}`` list one document ID per line (some
with CRLF line ends and a blank first line). Documents whose ID is in no list are counted
and reported by the caller, never silently dropped; IDs listed but absent from the corpus
are counted too.
"""

from __future__ import annotations

from pathlib import Path

from mtlner.errors import UserError

SPLITS = ("train", "dev", "test")


def read_split_ids(split_dir: Path, split_name: str) -> dict[str, list[str]]:
    """Return ``{"train": [...], "dev": [...], "test": [...]}`` document IDs in file order."""
    ids: dict[str, list[str]] = {}
    owner: dict[str, str] = {}
    for split in SPLITS:
        path = split_dir / f"{split_name}.{split}"
        try:
            lines = path.read_text(encoding="utf-8").splitlines()
        except OSError as error:
            raise UserError(
                f"missing HUNER split file {path}: {error}", hint="run the huner_split_files rule first"
            ) from error
        ids[split] = []
        for number, line in enumerate(lines, start=1):
            doc_id = line.strip()
            if not doc_id:
                continue
            if doc_id in owner and owner[doc_id] != split:
                raise UserError(
                    f"{path}:{number}: document {doc_id!r} is also in the {owner[doc_id]} split of {split_name!r}"
                )
            owner[doc_id] = split
            ids[split].append(doc_id)
    return ids


def assign(doc_ids_in_order: list[str], split_ids: dict[str, list[str]]) -> tuple[dict[str, list[str]], dict]:
    """Order the corpus' document IDs into splits as HUNER did (sorted IDs per split).

    Returns ``(ids_per_split, report)``; the report counts documents in no split and split
    IDs without a document.
    """
    present = set(doc_ids_in_order)
    listed = {doc_id for ids in split_ids.values() for doc_id in ids}
    per_split = {split: sorted(set(ids) & present) for split, ids in split_ids.items()}
    unsplit = [doc_id for doc_id in dict.fromkeys(doc_ids_in_order) if doc_id not in listed]
    missing = sorted(listed - present)
    report = {
        "documents": {split: len(ids) for split, ids in per_split.items()},
        "documents_in_no_split": len(unsplit),
        "documents_in_no_split_examples": unsplit[:20],
        "split_ids_without_document": len(missing),
        "split_ids_without_document_examples": missing[:20],
    }
    return per_split, report
