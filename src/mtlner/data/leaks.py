"""Leak audit: text that one task trains on and another (or the same) task, or a cross-corpus target, is scored on.

A sentence is compared by its key: its tokens case-folded, joined by a space, hashed
(blake2b, 16 bytes). Document IDs (the second column of a ``-DOCSTART-`` line in a prepared
corpus) are compared where both splits have them; HUNER-built corpora carry none, so there
only sentences are compared.

Pairs audited (one table row each where they share anything):

- between tasks: task A's train split against task B's dev and test splits (A != B): MTL
  trains on A's text through the shared encoder and is then scored on B's;
- within a task: train against dev, train against test, dev against test;
- evaluation-only cross-corpus targets (config ``cross_corpus_targets``: a test split only,
  never trained on, scored by every job with a head of its entity type): every task's train
  and dev splits against the target's test split (scope ``evaluation-only target``). Any
  task's, not only the same-type ones: an MTL job scores the target after training its shared
  encoder on every task's text, and STL from MTL starts from such an encoder; dev too, since
  the dev splits select the epoch whose weights tag the target.

:func:`mtlner.report.leak_audit.write_audit` writes the table and, per task or target B, the
overlaps of any task's training text with B's dev/test splits (a target's: its test split against
train and dev splits, ``results/leaks/<name>.json``); ``warn`` audits the tasks of one MTL job, and the targets its
command scores (its ``--cross-test`` arguments that name no task of the job), and logs a
warning for every such overlap among them before running the job's command (it reads the
corpora itself, so training never waits for, or reruns after, the audit rule). ``drop``
(config ``drop_leaks``) removes from every task's train split the sentences that occur in any
task's dev or test split or in any target's test split, and records how many in stats.json;
dev splits are kept whole (a dev sentence in a target's test split is reported, not removed).
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
import shutil
import sys
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from mtlner.atomic import atomic_path, write_json
from mtlner.data.corpus import SPLITS, read_conll, split_stats, write_conll
from mtlner.errors import UserError

if TYPE_CHECKING:
    import pandas as pd

log = logging.getLogger(__name__)

EVAL_SPLITS = ("dev", "test")
TARGET_SCOPE = "evaluation-only target"
# a task's splits compared with an evaluation-only target's test split: the text it trains on
# and the text that selects the weights that tag the target
TARGET_SPLITS = ("train", "dev")
COLUMNS = [
    "task_a",
    "split_a",
    "task_b",
    "split_b",
    "scope",
    "shared_sentences",
    "sentences_a",
    "sentences_b",
    "share_b",
    "shared_documents",
    "dropped_from_a",
]


def sentence_key(tokens: list[str]) -> bytes:
    return hashlib.blake2b(" ".join(t.casefold() for t in tokens).encode("utf-8"), digest_size=16).digest()


@dataclass
class SplitText:
    keys: Counter = field(default_factory=Counter)  # sentence key -> occurrences
    doc_ids: set[str] = field(default_factory=set)

    @property
    def sentences(self) -> int:
        return sum(self.keys.values())


def read_split(path: str | Path) -> SplitText:
    docs, _ = read_conll(path)
    return SplitText(
        Counter(sentence_key(s.tokens) for d in docs for s in d.sentences), {d.doc_id for d in docs if d.doc_id}
    )


def _pairs(tasks: list[str]):
    for a in tasks:
        for b in tasks:
            combos = (
                (("train", "dev"), ("train", "test"), ("dev", "test"))
                if a == b
                else (("train", "dev"), ("train", "test"))
            )
            for split_a, split_b in combos:
                yield a, split_a, b, split_b


def _target_pairs(tasks: list[str], targets: list[str]):
    for b in targets:
        for a in tasks:
            for split_a in TARGET_SPLITS:
                yield a, split_a, b, "test"


def audit(
    corpora: dict[str, str | Path],
    dropped: dict[str, dict[str, int]] | None = None,
    targets: dict[str, str | Path] | None = None,
) -> pd.DataFrame:
    """One row per (task_a split_a, task_b split_b) pair that shares a sentence or a document
    ID (or lost training sentences to ``drop``: ``dropped`` is task -> {"B/split": n});
    ``targets`` (name -> prepared folder, its test.tsv read) adds the evaluation-only targets'
    rows after the tasks'."""
    import pandas as pd

    return pd.DataFrame(_audit_rows(corpora, dropped, targets), columns=COLUMNS).astype({"shared_documents": object})


def _audit_rows(
    corpora: dict[str, str | Path],
    dropped: dict[str, dict[str, int]] | None = None,
    targets: dict[str, str | Path] | None = None,
) -> list[dict]:
    """:func:`audit`'s rows as plain dicts (no pandas: ``warn`` runs before every MTL job)."""
    targets = {name: folder for name, folder in (targets or {}).items() if name not in corpora}
    text = {
        task: {split: read_split(Path(folder) / f"{split}.tsv") for split in SPLITS} for task, folder in corpora.items()
    }
    text |= {name: {"test": read_split(Path(folder) / "test.tsv")} for name, folder in targets.items()}
    dropped = dropped or {}
    rows = []
    pairs = [*_pairs(list(corpora)), *_target_pairs(list(corpora), list(targets))]
    for a, split_a, b, split_b in pairs:
        x, y = text[a][split_a], text[b][split_b]
        shared = x.keys.keys() & y.keys.keys()
        documents = len(x.doc_ids & y.doc_ids) if x.doc_ids and y.doc_ids else None
        lost = dropped.get(a, {}).get(f"{b}/{split_b}", 0) if split_a == "train" else 0
        if not shared and not documents and not lost:
            continue
        sentences_b = sum(y.keys[k] for k in shared)
        scope = TARGET_SCOPE if b in targets else "within task" if a == b else "between tasks"
        rows.append({
            "task_a": a, "split_a": split_a, "task_b": b, "split_b": split_b, "scope": scope,
            "shared_sentences": len(shared), "sentences_a": sum(x.keys[k] for k in shared), "sentences_b": sentences_b,
            "share_b": sentences_b / y.sentences if y.sentences else 0.0, "shared_documents": documents, "dropped_from_a": lost,
        })  # fmt: skip
    return rows


def describe(row: dict) -> str:
    """One sentence for a warning: task A's training text in task B's evaluation split (or
    task A's train or dev split in an evaluation-only target's test split)."""
    what = f"{row['shared_sentences']} sentences ({row['sentences_b']} of its sentences, {row['share_b']:.1%})"
    if row.get("shared_documents"):
        what += f" and {row['shared_documents']} document IDs"
    if row.get("scope") == TARGET_SCOPE:
        where = f"the {row['split_a']} split of task {row['task_a']}"
        if row["split_a"] == "dev":
            where += " (dev splits select the weights that tag the target)"
        return f"the test split of evaluation-only cross-corpus target {row['task_b']} shares {what} with {where}"
    where = "its own train split" if row["task_a"] == row["task_b"] else f"the train split of task {row['task_a']}"
    return f"the {row['split_b']} split of task {row['task_b']} shares {what} with {where}"


def _leaks_into(row: dict) -> bool:
    """The row's split_a is text the model learns from or is selected on, for split_b: a train
    split, or (for an evaluation-only target) a dev split as well."""
    return row["split_a"] == "train" or (row.get("scope") == TARGET_SCOPE and row["split_a"] in TARGET_SPLITS)


def _overlaps(row: dict, task: str) -> bool:
    """Some task's training text overlaps an evaluation split of ``task`` (``task_overlaps``' rule)."""
    return (
        row["task_b"] == task
        and _leaks_into(row)
        and (row["shared_sentences"] > 0 or (row["shared_documents"] or 0) > 0)
    )


def task_overlaps(frame: pd.DataFrame, task: str) -> list[dict]:
    """Rows where some task's training text overlaps an evaluation split of ``task`` (for an
    evaluation-only target: a task's train or dev split overlaps its test split)."""
    import pandas as pd

    shared = (frame["shared_sentences"] > 0) | (frame["shared_documents"].fillna(0) > 0)
    learnt = (frame["split_a"] == "train") | ((frame["scope"] == TARGET_SCOPE) & frame["split_a"].isin(TARGET_SPLITS))
    rows = frame[(frame["task_b"] == task) & learnt & shared]
    return [
        {k: (None if pd.isna(v) else v.item() if hasattr(v, "item") else v) for k, v in row.items()}
        for row in rows.to_dict("records")
    ]


# --------------------------------------------------------------------------- MTL job logs

_ASSIGNMENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*=")


def warn(
    corpora: dict[str, str | Path], command: list[str] | None = None, targets: dict[str, str | Path] | None = None
) -> int:
    """Log a warning for every overlap of one task's training text with an evaluation split
    among these tasks (one MTL job's), and of their train or dev splits with the test split of
    an evaluation-only target the job scores (``targets``: the rule names them, as
    ``--target NAME=DIR``), then run ``command`` in this process (``exec``: its output goes
    where this process's goes, e.g. the job's log). Leading ``NAME=value`` words of the
    command set environment variables, as in a shell. Returns the number of warnings."""
    targets = {name: Path(folder) for name, folder in (targets or {}).items() if name not in corpora}
    rows = _audit_rows(corpora, targets=targets)
    found = 0
    for task in [*corpora, *targets]:
        for row in (r for r in rows if _overlaps(r, task)):
            if task in targets:
                remedy = (
                    "drop_leaks: true removes such training sentences"
                    if row["split_a"] == "train"
                    else "drop_leaks keeps dev splits whole"
                )
                log.warning(
                    "leak into a cross-corpus target this job scores: %s (results/tables/leak_audit.md; %s)",
                    describe(row),
                    remedy,
                )
            else:
                log.warning(
                    "leak in this job's tasks: %s (results/tables/leak_audit.md; "
                    "drop_leaks: true removes such training sentences)",
                    describe(row),
                )
            found += 1
    if not command:
        return found
    env = dict(os.environ)
    while command and _ASSIGNMENT.match(command[0]):
        name, _, value = command.pop(0).partition("=")
        env[name] = value
    if not command:
        raise UserError("leaks warn: nothing to run after the environment assignments")
    sys.stdout.flush()
    sys.stderr.flush()
    try:
        os.execvpe(command[0], command, env)
    except OSError as err:
        raise UserError(f"leaks warn: cannot run {command[0]!r}: {err}") from err
    return found  # not reached


# --------------------------------------------------------------------------- drop_leaks


def drop(
    corpora: dict[str, tuple[str | Path, str | Path]], targets: dict[str, str | Path] | None = None
) -> dict[str, dict]:
    """For each task, ``(prepared folder, output folder)``: copy the corpus, leaving out of the
    train split every sentence that occurs in any task's dev or test split or in the test
    split of an evaluation-only target (``targets``: name -> prepared folder); stats.json gets
    the new train counts and a ``drop_leaks`` block (``by_eval_split``: "<task>/dev",
    "<task>/test", "<target>/test" -> sentences). Dev splits are copied whole. Returns that
    block per task."""
    evaluated: dict[bytes, list[str]] = {}
    for task, (folder, _) in corpora.items():
        for split in EVAL_SPLITS:
            for key in read_split(Path(folder) / f"{split}.tsv").keys:
                evaluated.setdefault(key, []).append(f"{task}/{split}")
    for name, folder in (targets or {}).items():
        if name not in corpora:
            for key in read_split(Path(folder) / "test.tsv").keys:
                evaluated.setdefault(key, []).append(f"{name}/test")
    summary = {}
    for task, (folder, out) in corpora.items():
        folder, out = Path(folder), Path(out)
        stats = json.loads((folder / "stats.json").read_text())
        docs, _ = read_conll(folder / "train.tsv")
        before = sum(len(d.sentences) for d in docs)
        by_eval: Counter = Counter()
        kept_docs, dropped_mentions = [], 0
        keep_index: list[bool] = []  # per training sentence, for stats.json's source line map
        for doc in docs:
            kept = []
            for sentence in doc.sentences:
                where = evaluated.get(sentence_key(sentence.tokens))
                keep_index.append(not where)
                if where:
                    by_eval.update(where)
                    dropped_mentions += sum(tag == "B" for tag in sentence.tags)
                else:
                    kept.append(sentence)
            if kept:
                doc.sentences = kept
                kept_docs.append(doc)
        if not kept_docs:
            raise UserError(
                f"drop_leaks would remove every training sentence of task {task}",
                hint="set drop_leaks: false, or check the task's splits",
            )
        block = {
            "train_sentences_before": before,
            "dropped_sentences": before - sum(len(d.sentences) for d in kept_docs),
            "dropped_mentions": dropped_mentions,
            "by_eval_split": dict(sorted(by_eval.items())),
        }
        write_conll(kept_docs, out / "train.tsv", stats["entity_type"])
        for split in EVAL_SPLITS:
            with atomic_path(out / f"{split}.tsv") as tmp:
                shutil.copyfile(folder / f"{split}.tsv", tmp)
        source_types = stats["splits"]["train"].get("source_types", {})
        stats["splits"]["train"] = split_stats(kept_docs) | {"source_types": source_types}
        stats["drop_leaks"] = block
        source = stats.get("source", {}).get("train")
        if source and len(lines := source["lines"].split(",")) == len(keep_index):
            source["lines"] = ",".join(n for n, keep in zip(lines, keep_index) if keep)
        write_json(out / "stats.json", stats)
        if block["dropped_sentences"]:
            log.warning(
                "task %s: dropped %d of %d training sentences found in dev/test splits (or targets' test splits) %s",
                task,
                block["dropped_sentences"],
                before,
                block["by_eval_split"],
            )
        summary[task] = block
    return summary
