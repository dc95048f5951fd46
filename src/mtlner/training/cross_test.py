"""Cross-corpus transfer, the training side: a task's head scored on the test split of every other task of its
entity type, inside the training job.

In-corpus F1 says how well a model fits the corpus it was trained on; a reader who tags other
text needs to know how much of that survives on another corpus of the same entity type (other
annotation guidelines, other journals). The paper's models are never saved, so this is done
inside each training job, right after its own test pass, with the best dev epoch's weights:

    mtlner train ... --cross-test NAME=ENTITY=WINDOWS_DIR   (or NAME=ENTITY=.../test.pt; repeat)

Every head of the job whose entity type is ENTITY (an STL job's one head, each of an MTL job's
heads of that type) predicts NAME's test windows (another task's, or an evaluation-only
target's: config ``cross_corpus_targets``, a corpus with a test split only that no job trains
on), and the same code as the job's own test pass
(``loop.Run.evaluate``: the same word positions, batching and ``metrics.scores``) scores them
at every level (word, word_strict, entity). A target is never paired with its own head (an MTL
job lists every task; its own test pass already scored it). Tasks of one entity type share the
label set by construction: every head predicts ``labels.LABELS`` (O, B, I, special), and the
entity type is the task's config type after ``corpus.normalise_entity_type``.

The scores go into the job's ``metrics.json`` under ``cross_corpus`` (a list; empty when no
target was given), not into a file of their own: metrics.json is already every training rule's
declared output, written in one atomic write with the in-corpus scores of the same weights, so
the two can never come from different runs; and a separate file would have to be declared by
rules whose wildcard values decide whether it means anything (a task alone in its type), which
Snakemake outputs cannot express. The other tasks' test windows are the job's declared inputs
(workflow/rules/train.smk), so a changed target reruns the job.

The table and the heat maps over those scores: :mod:`mtlner.report.crosscorpus`.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from mtlner.errors import UserError


@dataclass
class Target:
    """Another task's test split, to be tagged by the job's heads of the same entity type."""

    name: str
    entity: str
    windows: list
    meta: dict
    path: Path


def load_target(spec) -> Target:
    """A ``--cross-test`` target as ``job.parse_task_spec`` read it (NAME, ENTITY, PATH): PATH a
    task's window folder (its test.pt is read) or a test.pt."""
    from mtlner.data.windows import load_windows

    path = spec.path / "test.pt" if spec.path.is_dir() else spec.path
    windows, meta = load_windows(path)
    return Target(spec.name, spec.entity, windows, meta, path)


def pairs(sources, targets: list[Target]) -> list[tuple[object, Target]]:
    """(source task, target) for every source head of the target's entity type, itself excluded.

    A target no head of the job can tag (another entity type only) is an error: its scores
    would be no transfer between corpora of one type."""
    out = []
    for target in targets:
        matched = [s for s in sources if s.entity == target.entity and s.name != target.name]
        same_type = [s for s in sources if s.entity == target.entity]
        if not same_type:
            types = sorted({s.entity for s in sources})
            raise UserError(
                f"--cross-test {target.name} is a {target.entity} task, but this job's tasks are {types}",
                hint="cross-corpus scoring pairs tasks of the same entity type; drop that --cross-test",
            )
        out += [(source, target) for source in matched]
    return out


def check_windows(target: Target, meta: dict) -> None:
    """The target's windows must come from the tokenizer the job's own windows came from."""
    for key in ("encoder", "tokenizer"):
        if key in meta and key in target.meta and meta[key] != target.meta[key]:
            raise UserError(
                f"{target.path} was built with {key} {target.meta[key]!r}, this job's windows with {meta[key]!r}",
                hint="pass the target's windows from the same window cache (results/windows/<key>/) as the job's tasks",
            )


def prepare(specs: list, sources, meta: dict) -> list[Target]:
    """Load and check every ``--cross-test`` target before training, so that a wrong one is
    reported before the first epoch: its windows' tokenizer, and a same-type head to tag it."""
    targets = [load_target(spec) for spec in specs or []]
    for target in targets:
        check_windows(target, meta)
    pairs(sources, targets)
    return targets


def cross_test(evaluate, sources, targets: list[Target]) -> list[dict]:
    """Score every (source head, target) pair; ``evaluate(task, split)`` is the job's own
    test-pass scorer (``loop.Run.evaluate``), given a task named like the source head whose
    test split is the target's windows. Returns JSON-ready rows for metrics.json."""
    from mtlner.training.loop import Task

    rows = []
    for source, target in pairs(sources, targets):
        scored, _ = evaluate(Task(source.name, target.entity, [], [], target.windows), "test")
        rows.append(
            {
                "source": source.name,
                "target": target.name,
                "entity_type": target.entity,
                "test_windows": len(target.windows),
                "test": scored,
            }
        )
    return rows


def evaluator(model, tokenizer, cfg):
    """The job's test-pass scorer for a trained model, outside :func:`loop.train`: the same
    ``Run.evaluate`` on the model's device, with its autocast and evaluation batch budget."""
    from mtlner.training.loop import Run

    device = next(model.parameters()).device
    return Run(model, model, None, None, device, tokenizer.pad_token_id, cfg).evaluate
