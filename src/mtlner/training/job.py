"""One training job (``mtlner train``): read its tasks and cross-test targets, train, score, and
write what the job leaves behind; the one place a job's ``metrics.json`` is put together.

A job's tasks and targets arrive as ``NAME=ENTITY=PATH`` (``--task``, ``--cross-test``), and an
MTL job's launcher names the same corpora as ``NAME=DIR`` (``mtlner leaks warn --corpus/--target``):
:func:`parse_task_spec` is the one reader of those words, so a name, an entity type and a path
mean the same to every command.

The stages above training (the starting-model checks of :mod:`mtlner.tag.pipeline`, the process
clock of :mod:`mtlner.run.startup`) reach the job as :class:`Hooks` from ``mtlner.cli``, so this
module imports only downward.
"""

from __future__ import annotations

import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass, fields
from pathlib import Path

from mtlner.errors import UserError


@dataclass(frozen=True)
class TaskSpec:
    """A task (or target) named on a command line: ``NAME=ENTITY=PATH``, or ``NAME=PATH``
    where the command needs no entity type (``entity`` is then None)."""

    name: str
    entity: str | None
    path: Path


def parse_task_spec(spec: str, flag: str = "--task", entity: bool = True) -> TaskSpec:
    """``NAME=ENTITY=PATH`` (``entity=False``: ``NAME=PATH``); the entity type normalised as the
    config's (``corpus.normalise_entity_type``). A malformed word is a UserError naming ``flag``."""
    parts = spec.split("=")
    shape = "NAME=ENTITY=PATH" if entity else "NAME=PATH"
    if len(parts) != (3 if entity else 2) or not all(parts):
        raise UserError(f"{flag} {spec!r} must look like {shape}")
    if not entity:
        return TaskSpec(parts[0], None, Path(parts[1]))
    from mtlner.data.corpus import normalise_entity_type

    return TaskSpec(parts[0], normalise_entity_type(parts[1]), Path(parts[2]))


@dataclass(frozen=True)
class Hooks:
    """What the job needs from the stages above it (given by ``mtlner.cli``)."""

    process_age: Callable[[float], float]  # run.startup: seconds from process start to a monotonic time
    launch: Callable[[], str]  # run.startup: "process" or "fork-server"
    check_starting_model: Callable[[str], object]  # tag.pipeline: every part of a saved model folder
    damaged_starting_model: Callable[[str, UserError], UserError]  # tag.pipeline: its rebuild message


def training_scores(result) -> dict:
    """The training's part of metrics.json (``result``: :class:`loop.TrainResult`): selection,
    steps and timings, the settings, every epoch's history and each task's dev and test scores."""
    state = result.state
    return {
        "best_epoch": state.best_epoch,
        "epochs": result.epochs,
        "steps": state.steps_done,
        "dev_selection_score": state.best_score,
        "train_seconds": round(state.train_seconds, 3),
        "checkpoint_seconds": round(state.checkpoint_seconds, 3),
        "checkpoint_count": state.checkpoint_count,
        "device": result.device,
        "config": result.config,
        "history": state.history,
        "tasks": result.tasks,
    }


def metrics_json(args, result, cross: list[dict], encoder_load_seconds: float, hooks: Hooks) -> dict:
    """metrics.json of a finished job, in its key order (written unsorted): the job's settings,
    :func:`training_scores`, the cross-corpus scores, and how the process started."""
    return {
        "kind": args.kind,
        "head": args.head,
        "ablation": args.ablation,
        "seed": args.seed,
        "without": args.without,
        "init": args.init,
        **training_scores(result),
        "cross_corpus": cross,
        # process start (fork) to the end of the first optimiser step; None when none was taken
        "startup_seconds": round(hooks.process_age(result.first_step_at), 3) if result.first_step_at else None,
        "encoder_load_seconds": round(encoder_load_seconds, 3),
        "launch": hooks.launch(),  # "fork-server": forked from a warm process (imports done)
    }


def _saved_model(init: str) -> bool:
    return Path(init).is_dir() and any((Path(init) / n).exists() for n in ("model.json", "heads.pt", "encoder"))


def run(args, hooks: Hooks) -> None:
    """``mtlner train``: every check before the first epoch, then train, score, write."""
    import torch

    from mtlner.atomic import write_json
    from mtlner.data.windows import ablate, load_windows
    from mtlner.training import cross_test
    from mtlner.training.loop import Task, TrainConfig, ensure_writable, train, write_predictions
    from mtlner.training.model import MultiTaskTagger, load_tokenizer

    if args.threads:
        torch.set_num_threads(args.threads)
    cfg = TrainConfig(**{f.name: getattr(args, f.name) for f in fields(TrainConfig)})
    out_dir = ensure_writable(args.out_dir)  # before any data, model or epoch
    saved = _saved_model(args.init)
    if saved:  # a saved model (STL from MTL): tag's checks of every part, before any data
        hooks.check_starting_model(args.init)
    tasks = []
    for spec in (parse_task_spec(s) for s in args.task):
        train_windows, window_meta = load_windows(spec.path / "train.pt")
        kept = ablate(train_windows, args.ablation, seed=args.seed)
        tasks.append(
            Task(
                spec.name,
                spec.entity,
                kept,
                load_windows(spec.path / "dev.pt")[0],
                load_windows(spec.path / "test.pt")[0],
                train_total=len(train_windows),
            )
        )
    specs = [parse_task_spec(s, "--cross-test") for s in args.cross_test]
    targets = cross_test.prepare(specs, tasks, window_meta)  # checked before any epoch
    torch.manual_seed(args.seed)  # head initialisation
    loading = time.monotonic()
    try:
        model = MultiTaskTagger.create(args.init, {t.name: t.entity for t in tasks}, dropout=cfg.dropout, head=cfg.head)
    except UserError as err:  # e.g. truncated weights, which the checks above do not read
        if not saved:
            raise
        raise hooks.damaged_starting_model(args.init, err) from err
    encoder_load_seconds = time.monotonic() - loading  # transformers' model code and the weights
    tokenizer = load_tokenizer(args.tokenizer or args.init)
    work_dir = out_dir / ".work"
    result = train(model, tokenizer, tasks, cfg, work_dir, init=args.init)
    # right after the test pass, with the same (best dev) weights: the heads on other same-type tasks' test splits
    cross = cross_test.cross_test(cross_test.evaluator(model, tokenizer, cfg), tasks, targets)
    for name, (gold, pred) in result.predictions.items():
        write_predictions(out_dir / "predictions" / f"{name}.test.tsv", gold, pred)
    if args.save_model:
        extra = {
            "kind": args.kind,
            "seed": args.seed,
            "max_length": window_meta.get("max_length"),
            "label_subwords": cfg.label_subwords,
        }
        model.to("cpu").save(out_dir / "model", tokenizer, extra=extra)
    write_json(out_dir / "metrics.json", metrics_json(args, result, cross, encoder_load_seconds, hooks))
    shutil.rmtree(work_dir, ignore_errors=True)
