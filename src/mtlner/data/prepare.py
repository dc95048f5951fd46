"""The two data jobs of one task: ``mtlner prepare`` (normalise its CoNLL split files and count
them, Table 1) and ``mtlner windows`` (tokenise and pack it into encoder windows, cached)."""

from __future__ import annotations

import logging
import time
from pathlib import Path

from mtlner.atomic import write_json
from mtlner.data.corpus import (
    SPLITS,
    Boundaries,
    attach_origins,
    check_mentions,
    check_same_type,
    read_conll,
    source_lines,
    split_stats,
    write_conll,
)
from mtlner.errors import UserError

log = logging.getLogger("mtlner")


def prepare_job(args) -> None:
    """``mtlner prepare``: read (and check) every split of one task, keep max_documents, write the
    normalised CoNLL files and stats.json (Table 1's counts, where each sentence came from)."""
    stats = {
        "task": args.task,
        "entity_type": args.entity,
        "dataset": args.dataset or args.task,
        "splits": {},
        "warnings": [],
    }
    limits = _document_limits(args.max_documents)
    bounds = Boundaries.parse(args.documents)
    read = {}
    for split in _splits(args.splits, SPLITS):  # every split read (and checked) before any is written
        read[split] = read_conll(Path(args.input_dir) / f"{split}.tsv", bounds)
    check_same_type([report for _, report in read.values()])
    for split, (docs, report) in read.items():
        path = Path(args.input_dir) / f"{split}.tsv"
        if split in limits:
            # a reduced design (config tasks.<name>.max_documents): the first N documents, in file order
            stats.setdefault("documents_before_limit", {})[split] = len(docs)
            docs = docs[: limits[split]]
        stats["splits"][split] = split_stats(docs) | {"source_types": report.entity_types_seen}
        stats.setdefault("documents_from", {})[split] = report.documents_from
        warning = check_mentions(
            split, path, stats["splits"][split]["mentions"], len(docs) if split in limits else None
        )
        if warning:
            log.warning(warning)
            report.warnings.append(warning)
        stats["warnings"] += report.warnings
        # the user's file and line of every sentence, in the prepared file's order, so errors
        # found later (a mention longer than a window) can name the line the user can edit
        stats.setdefault("source", {})[split] = {"file": str(path.resolve()), "lines": source_lines(docs)}
        write_conll(docs, Path(args.out_dir) / f"{split}.tsv", args.entity)
    write_json(Path(args.out_dir) / "stats.json", stats)


def _splits(chosen: list[str] | None, splits) -> list[str]:
    """--splits: the splits to read, in train/dev/test order (default all three; an
    evaluation-only cross-corpus target has only test)."""
    return [s for s in splits if s in chosen] if chosen else list(splits)


def _document_limits(specs: list[str] | None) -> dict[str, int]:
    limits = {}
    for spec in specs or []:
        split, _, number = spec.partition("=")
        if split not in ("train", "dev", "test") or not number.isdigit() or int(number) < 1:
            raise UserError(f"--max-documents {spec!r} must look like train=N (dev=N, test=N) with N >= 1")
        limits[split] = int(number)
    return limits


def windows_job(args, tokenizer) -> None:
    """``mtlner windows``: tokenise (``tokenizer``: the encoder's, loaded by the caller) and
    pack each split of one prepared task into windows, plus their stats.json."""
    from mtlner.data.windows import build_windows, save_windows, window_stats

    summary = {"encoder": args.encoder, "max_length": args.max_length, "windowing": args.windowing}
    started = time.perf_counter()
    words = 0
    for split in _splits(args.splits, SPLITS):
        path = Path(args.corpus_dir) / f"{split}.tsv"
        docs, _ = read_conll(path)
        attach_origins(docs, Path(args.corpus_dir) / "stats.json", split)
        windows = build_windows(docs, tokenizer, args.max_length, source=str(path), windowing=args.windowing)
        save_windows(windows, Path(args.out_dir) / f"{split}.pt", summary | {"split": split})
        summary[split] = window_stats(windows)
        words += summary[split]["words"]
    summary["words_per_second"] = round(words / (time.perf_counter() - started), 1)
    write_json(Path(args.out_dir) / "stats.json", summary)
