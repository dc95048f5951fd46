"""One training loop for STL and MTL (STL is MTL with one task).

Per epoch every training window is seen once. Each task's windows are cut into length-bucketed
batches under a token budget (little padding, flat memory); batches then alternate between
tasks round robin, one task per optimiser step, as in the paper. With ``upsample`` the smaller
tasks cycle until the largest is used up (Mulyar et al.). After every epoch the dev sets are
scored; the epoch with the best mean dev F1 is kept (a copy of its weights in host memory) and
only that model is scored on test.

Resumable state (model, optimiser, scheduler, RNG states, position, best weights) goes to
``work_dir/checkpoint.pt`` when SIGTERM arrives and at most every ``checkpoint_minutes`` of
training (0: at every epoch end), so a preempted or killed job resumes from its last checkpoint
and ends with the same numbers as an uninterrupted run (on CPU, same seed).

:func:`train` reads top to bottom: build the optimiser and the schedule, resume if a checkpoint
of this very run exists, then per epoch plan the batches, :func:`run_epoch`, score dev, keep the
best weights, checkpoint when due; at the end score the best weights on test.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import math
import random
import signal
import tempfile
import time
from array import array
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from types import SimpleNamespace
from typing import Callable, Iterator

import torch
import torch.nn.functional as F
from tqdm.auto import tqdm

from mtlner.atomic import atomic_path
from mtlner.errors import Preempted, UserError, first_line
from mtlner.data.labels import IGNORE, LABELS, SPECIAL
from mtlner.training.inference import autocast, collate, pick_device, predict_windows, word_masks
from mtlner.training.metrics import LEVELS, scores
from mtlner.training.model import MultiTaskTagger
from mtlner.training.config import SCHEDULES, TrainConfig
from mtlner.data.windows import Window

log = logging.getLogger(__name__)
CHECKPOINT_FORMAT = 2  # layout of checkpoint.pt; a checkpoint of another layout is never resumed
clock = time.monotonic  # decides when a periodic checkpoint is due (tests put a fake clock here)


@dataclass
class Task:
    name: str
    entity: str
    train: list[Window]
    dev: list[Window]
    test: list[Window]
    train_total: int = 0  # windows before ablation
    meta: dict = field(default_factory=dict)


def progress_bar(iterable, desc: str, enabled: bool, **kwargs):
    """tqdm on stderr; in a log file (no terminal) it updates every 30 s instead of constantly."""
    import sys

    interval = 0.5 if sys.stderr.isatty() else 30.0
    return tqdm(iterable, desc=desc, disable=not enabled, mininterval=interval, **kwargs)


# --------------------------------------------------------------------------- batching


def length_batches(lengths: list[int], batch_size: int, max_tokens: int, rng: random.Random) -> list[list[int]]:
    """Shuffle, sort within pools of similar length, cut under the token budget, shuffle batches."""
    order = list(range(len(lengths)))
    rng.shuffle(order)
    pool = max(batch_size * 50, 1)
    batches: list[list[int]] = []
    for start in range(0, len(order), pool):
        chunk = sorted(order[start : start + pool], key=lambda i: lengths[i])
        batch: list[int] = []
        longest = 0
        for i in chunk:
            new_longest = max(longest, lengths[i])
            if batch and (len(batch) >= batch_size or new_longest * (len(batch) + 1) > max_tokens):
                batches.append(batch)
                batch, new_longest = [], lengths[i]
            batch.append(i)
            longest = new_longest
        if batch:
            batches.append(batch)
    rng.shuffle(batches)
    return batches


def round_robin(per_task: dict[str, list[list[int]]], upsample: bool = False) -> list[tuple[str, list[int]]]:
    """Interleave tasks one batch at a time, in task order; finished tasks drop out.

    With ``upsample`` every task contributes as many batches as the largest one (cycling).
    """
    rounds = max((len(b) for b in per_task.values()), default=0)
    plan = []
    for r in range(rounds):
        for task, batches in per_task.items():
            if r < len(batches):
                plan.append((task, batches[r]))
            elif upsample and batches:
                plan.append((task, batches[r % len(batches)]))
    return plan


def plan_epoch(tasks: list[Task], cfg: TrainConfig, rng: random.Random) -> list[tuple[str, list[int]]]:
    per_task = {
        t.name: length_batches([len(w.input_ids) for w in t.train], cfg.batch_size, cfg.max_tokens, rng) for t in tasks
    }
    return round_robin(per_task, cfg.upsample)


# --------------------------------------------------------------------------- evaluation


def _tags(label_ids: list[int]) -> list[str]:
    return [LABELS[i] if i != SPECIAL else "O" for i in label_ids]


def sentences_of(windows: list[Window], word_labels: list[list[int]]):
    """Split window-level word labels back into sentences: (doc, words, tags) triples."""
    out = []
    for w, labels in zip(windows, word_labels):
        start = 0
        for n in w.sentence_lengths:
            out.append((w.doc, w.words[start : start + n], _tags(labels[start : start + n])))
            start += n
    return out


def evaluate(model, task: Task, split: str, pad_id, device, cfg: TrainConfig, autocast, between_batches=None):
    """Predict ``task``'s ``split`` with the head named ``task.name`` and score it at every metric
    level: (scores, (gold sentences, predicted sentences)). ``autocast``: a zero-argument factory
    of the context the forward passes run in (:meth:`Run.autocast`); ``between_batches``: called
    after each batch (it may raise to stop)."""
    windows = getattr(task, split)
    with progress_bar(None, f"eval {task.name}", cfg.progress, total=len(windows), unit="window", leave=False) as bar:

        def done(n: int) -> None:
            bar.update(n)
            if between_batches is not None:
                between_batches()

        read = predict_windows(
            model,
            windows,
            pad_id,
            device,
            cfg.eval_max_tokens,
            [task.name],
            label_subwords=cfg.label_subwords,
            amp=autocast,
            progress=done,
        )
    predicted = [r[task.name].labels for r in read]
    gold = [[w.labels[i] for i in w.word_ends] for w in windows]
    gold_s = sentences_of(windows, gold)
    pred_s = sentences_of(windows, predicted)
    result = scores([g[2] for g in gold_s], [p[2] for p in pred_s])
    return result, (gold_s, pred_s)


# --------------------------------------------------------------------------- setup


def ensure_writable(folder: str | Path) -> Path:
    """Create ``folder`` and write a file in it, so that an output folder nobody may write to is
    reported before the first epoch instead of after the whole training."""
    folder = Path(folder)
    try:
        folder.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=folder, prefix=".write-test-"):
            pass
    except OSError as err:
        raise UserError(
            f"output folder {folder} is not writable: {err.strerror or err}",
            hint="fix its permissions or free the disk, or choose another output folder",
        ) from err
    return folder


def build_optimizer(model: torch.nn.Module, cfg: TrainConfig, device: torch.device) -> torch.optim.AdamW:
    """AdamW; weight decay on every parameter of two or more dimensions (matrices, embeddings),
    none on vectors (biases, LayerNorm scales and shifts)."""
    params = [p for p in model.parameters() if p.requires_grad]
    groups = [
        {"params": [p for p in params if p.dim() >= 2], "weight_decay": cfg.weight_decay},
        {"params": [p for p in params if p.dim() < 2], "weight_decay": 0.0},
    ]
    # The fused kernel (CUDA, and CPU since torch 2.4) updates each tensor in one pass: on CPU
    # it is ~6x faster than the per-tensor loop for MiniLM (0.03 s against 0.19 s a step, measured).
    return torch.optim.AdamW([g for g in groups if g["params"]], lr=cfg.lr, fused=device.type in ("cuda", "cpu"))


def build_scheduler(optimizer: torch.optim.Optimizer, cfg: TrainConfig, total_steps: int):
    """Linear warm-up over ``warmup_ratio`` of the steps, then constant or linear decay to 0."""
    from transformers import get_scheduler

    warmup = int(cfg.warmup_ratio * total_steps)
    return get_scheduler(SCHEDULES[cfg.scheduler], optimizer, num_warmup_steps=warmup, num_training_steps=total_steps)


def budget(tasks: list[Task], cfg: TrainConfig) -> tuple[int, int]:
    """(epochs, optimiser steps): the epochs asked for, or as many as ``max_steps`` needs (the
    last one may stop early)."""
    per_epoch = max(1, len(plan_epoch(tasks, cfg, random.Random(cfg.seed))))
    if cfg.max_steps:
        return math.ceil(cfg.max_steps / per_epoch), cfg.max_steps
    return cfg.epochs, per_epoch * cfg.epochs


@dataclass
class Run:
    """What every step needs, built once by :func:`train`."""

    model: MultiTaskTagger
    forward: Callable  # the model, or its torch.compile'd version
    optimizer: torch.optim.Optimizer
    scheduler: torch.optim.lr_scheduler.LRScheduler
    device: torch.device
    pad_id: int
    cfg: TrainConfig
    # called after every evaluation batch: raises to stop (SIGTERM) between batches of a long
    # dev or test pass instead of after it
    between_batches: Callable[[], None] | None = None

    def autocast(self):
        """bf16 autocast on CUDA when ``bf16`` is set, nothing otherwise."""
        return autocast(self.device, self.cfg.bf16)

    def evaluate(self, task: Task, split: str):
        return evaluate(
            self.forward, task, split, self.pad_id, self.device, self.cfg, self.autocast, self.between_batches
        )


@dataclass
class TrainState:
    """Where a run stands: all a checkpoint carries to resume exactly, besides the tensors."""

    plan_rng: tuple  # state of the random.Random that plans the current epoch's batches
    epoch: int = 0  # epochs finished
    step: int = 0  # steps taken in the current epoch
    steps_done: int = 0  # steps of the finished epochs
    epoch_losses: list[float] = field(default_factory=list)
    history: list[dict] = field(default_factory=list)
    best_score: float = -math.inf
    best_epoch: int = 0
    best_dev: dict = field(default_factory=dict)
    train_seconds: float = 0.0  # wall time of the loop: steps, dev scoring, checkpoint writes
    checkpoint_seconds: float = 0.0  # of which writing checkpoints
    checkpoint_count: int = 0
    _lap: float = field(default_factory=time.perf_counter, repr=False)

    @property
    def position(self) -> int:
        """Optimiser steps taken so far."""
        return self.steps_done + self.step

    def lap(self) -> None:
        """Add the wall time since the last lap to ``train_seconds`` (so a checkpoint has it current)."""
        now = time.perf_counter()
        self.train_seconds += now - self._lap
        self._lap = now

    def to_dict(self) -> dict:
        return {f.name: getattr(self, f.name) for f in fields(self) if not f.name.startswith("_")}

    def end_epoch(
        self, steps: int, dev: dict[str, dict], score: float, seconds: tuple[float, float], next_plan_rng
    ) -> bool:
        """Record the finished epoch and move to the next; True when its dev score is the best yet."""
        self.history.append(
            {
                "epoch": self.epoch + 1,
                "train_loss": sum(self.epoch_losses) / max(1, len(self.epoch_losses)),
                "steps": steps,
                "train_seconds": round(seconds[0], 3),
                "eval_seconds": round(seconds[1], 3),
                "dev_selection_score": score,
                "dev": {name: {lvl: r[lvl]["f1"] for lvl in LEVELS} for name, r in dev.items()},
            }
        )
        self.epoch, self.steps_done, self.plan_rng = self.epoch + 1, self.steps_done + steps, next_plan_rng
        self.step, self.epoch_losses = 0, []
        improved = self.best_epoch == 0 or score > self.best_score
        if improved:
            self.best_score, self.best_epoch, self.best_dev = score, self.epoch, dev
        return improved


@dataclass
class TrainResult:
    """What :func:`train` returns: the parts of the training that metrics.json reports (put
    together in one place, :func:`mtlner.training.job.metrics_json`) and, apart from them, each
    task's test predictions as (gold sentences, predicted sentences)."""

    state: TrainState  # best epoch, its dev scores, history, steps and timings
    epochs: int
    device: str
    config: dict  # the TrainConfig, as a dict
    tasks: dict[str, dict]  # per task: entity type, window counts, best dev and test scores
    predictions: dict[str, tuple[list, list]]
    first_step_at: float | None = None  # time.monotonic() at the end of this process's first step


# --------------------------------------------------------------------------- checkpoints


def _init_identity(init: str) -> list:
    """What identifies the starting weights: the name, plus size and modification time of every
    file when it is a local folder (an MTL encoder retrained in place gets a new identity)."""
    path = Path(init)
    if not path.is_dir():
        return [init]
    return [init] + [
        [str(f.relative_to(path)), f.stat().st_size, f.stat().st_mtime_ns]
        for f in sorted(path.rglob("*"))
        if f.is_file()
    ]


def _hash_windows(h, windows: list[Window]) -> None:
    for w in windows:
        for values in (w.input_ids, w.labels, w.word_ends, w.sentence_lengths):
            h.update(array("q", values).tobytes())
            h.update(b"|")
        h.update(str(w.doc).encode())


def _fingerprint(tasks: list[Task], cfg: TrainConfig, init: str) -> str:
    """Identifies the run a checkpoint belongs to, so a stale one is never resumed: the training
    settings (minus display, device and checkpoint interval, which do not change the numbers),
    the starting weights' identity and every window of every split of every task, subwords and
    labels alike (a corrected tag changes it)."""
    settings = asdict(cfg) | {"progress": None, "device": None, "checkpoint_minutes": None}
    if cfg.head == "linear":  # as before heads were a setting: a linear run's checkpoint still resumes
        del settings["head"]
    h = hashlib.sha256(json.dumps([settings, _init_identity(init)], sort_keys=True, default=str).encode())
    for t in tasks:
        h.update(f"task {t.name} {t.entity} {t.train_total}".encode())
        for split in (t.train, t.dev, t.test):
            h.update(f"split {len(split)}".encode())
            _hash_windows(h, split)
    return h.hexdigest()[:16]


class Checkpoint:
    """A run's resumable state on disk and its best-dev weights in host memory.

    ``work_dir/checkpoint.pt`` holds the model, optimiser and scheduler, the CPU and CUDA RNG
    states, the :class:`TrainState` and the best weights (or a note that they are the model's
    own, when no step was taken since they were kept), under the run's fingerprint. It is written
    on SIGTERM (:meth:`preempted`) and when :meth:`due`: every ``minutes`` of training, or at
    every epoch end with ``minutes=0``. Disabled (``checkpoint: false``) nothing is read or
    written; the best weights still live in memory.
    """

    def __init__(self, work_dir: str | Path, fingerprint: str, enabled: bool = True, minutes: float = 0.0):
        self.path = Path(work_dir) / "checkpoint.pt"
        self.fingerprint, self.enabled, self.minutes = fingerprint, enabled, minutes
        self.best: dict[str, torch.Tensor] | None = None  # CPU copy of the best-dev weights
        self._best_at: int | None = None  # the step they were taken at
        self._last_write = clock()
        self._written_at: int | None = None  # the step the file on disk was written at

    def resume(self, run: Run) -> TrainState | None:
        """Load this run's checkpoint into ``run`` and return its state; None when there is none."""
        if not (self.enabled and self.path.is_file()):
            return None
        try:
            ckpt = torch.load(self.path, weights_only=False, map_location="cpu")
        except Exception as err:  # truncated zip, EOF, not a pickle: a damaged file, not a bug
            log.warning("ignoring %s: it cannot be read (%s); starting over", self.path, first_line(err))
            return None
        if (
            not isinstance(ckpt, dict)
            or ckpt.get("format") != CHECKPOINT_FORMAT
            or ckpt.get("fingerprint") != self.fingerprint
        ):
            log.warning("ignoring %s: it belongs to a different run (config or data changed)", self.path)
            return None
        run.model.load_state_dict(ckpt["model"])
        run.optimizer.load_state_dict(ckpt["optimizer"])
        run.scheduler.load_state_dict(ckpt["scheduler"])
        torch.set_rng_state(ckpt["torch_rng"])
        if ckpt["cuda_rng"] is not None and torch.cuda.is_available():
            torch.cuda.set_rng_state_all(ckpt["cuda_rng"])
        state = TrainState(**ckpt["state"])
        if isinstance(ckpt["best"], str):  # "model": the weights just loaded are the best ones
            self.best, self._best_at = ckpt["model"], state.position
        else:
            self.best = ckpt["best"]
        self._written_at = state.position  # the file on disk holds this state
        log.info("resuming from %s at epoch %d step %d", self.path, state.epoch + 1, state.step)
        return state

    def keep_best(self, model: torch.nn.Module, state: TrainState) -> None:
        self.best = {k: v.detach().to("cpu", copy=True) for k, v in model.state_dict().items()}
        self._best_at = state.position

    def restore_best(self, model: torch.nn.Module) -> None:
        if self.best is not None:
            model.load_state_dict(self.best)

    def due(self, epoch_end: bool = False) -> bool:
        if not self.enabled:
            return False
        if self.minutes == 0:
            return epoch_end
        return clock() - self._last_write >= 60 * self.minutes

    def save_if_due(self, run: Run, state: TrainState, epoch_end: bool = False) -> None:
        if self.due(epoch_end):
            self.save(run, state)

    def save(self, run: Run, state: TrainState) -> bool:
        """Write the resumable state atomically; its cost is counted in ``state``. A write that
        fails (disk full, quota) is a warning, not the end of the training: False."""
        state.checkpoint_count += 1  # before the payload: the file counts itself
        state.lap()
        payload = {
            "format": CHECKPOINT_FORMAT,
            "fingerprint": self.fingerprint,
            "model": run.model.state_dict(),
            "optimizer": run.optimizer.state_dict(),
            "scheduler": run.scheduler.state_dict(),
            "torch_rng": torch.get_rng_state(),
            # dropout on the GPU draws from CUDA's generators: without them a resumed run diverges
            "cuda_rng": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else None,
            "state": state.to_dict(),
            "best": "model" if self._best_at == state.position else self.best,
        }
        started = time.perf_counter()
        try:
            with atomic_path(self.path) as tmp:
                torch.save(payload, tmp)
        except (OSError, RuntimeError) as err:  # torch reports a short write as RuntimeError
            log.warning(
                "cannot write the checkpoint %s (%s); training goes on, the next try in %s",
                self.path,
                first_line(err),
                f"{self.minutes:g} minutes" if self.minutes else "an epoch",
            )
            state.checkpoint_count -= 1
            return False
        finally:
            state.checkpoint_seconds += time.perf_counter() - started
            state.lap()
            self._last_write = clock()
        self._written_at = state.position
        return True

    def preempted(self, run: Run, state: TrainState, during: str | None = None) -> Preempted:
        """Save (when enabled, and not saved at this step already: SIGTERM during a write) and
        return the exception that ends the job, saying what a rerun of it does."""
        if self.enabled and self._written_at != state.position:
            self.save(run, state)
        rerun = "a rerun of this job (snakemake --rerun-incomplete, or the same command)"
        if not self.enabled:
            then = f"no checkpoint (checkpoint is off); {rerun} starts it over"
        elif self._written_at == state.position:
            then = f"checkpoint {self.path} written; {rerun} resumes from it"
        elif self._written_at is not None:
            then = f"the checkpoint could not be written; {rerun} resumes from {self.path}, of step {self._written_at}"
        else:
            then = f"the checkpoint could not be written; {rerun} starts it over"
        during = during or f"in epoch {state.epoch + 1} after step {state.step}"
        return Preempted(f"stopped by SIGTERM {during}; {then}")


@contextlib.contextmanager
def _sigterm_flag():
    """Turn SIGTERM (SLURM preemption, scancel) into a flag the loop checks after each step."""
    flag = SimpleNamespace(stop=False)

    def handler(signum, frame):
        flag.stop = True

    try:
        previous = signal.signal(signal.SIGTERM, handler)
    except ValueError:  # not the main thread (e.g. under some test runners): no handler
        yield flag
        return
    try:
        yield flag
    finally:
        signal.signal(signal.SIGTERM, previous)


# --------------------------------------------------------------------------- the loop


def _selection_score(dev: dict[str, dict], metric: str) -> float:
    level = "word" if metric == "word_f1" else "entity"
    return sum(r[level]["f1"] for r in dev.values()) / len(dev)


def head_loss(run: Run, task: str, windows: list[Window], logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """The task head's loss on a batch. Linear: cross-entropy over every labelled subword (the
    paper's; [CLS]/[SEP] included as SPECIAL). CRF: the negative log-likelihood of the gold word
    path over the words' read-from subwords (special tokens and pads are not states), divided by
    the number of words, so both losses are per position and one learning rate suits both."""
    crf = run.model.crfs[task] if task in run.model.crfs else None
    if crf is None:
        return F.cross_entropy(logits.float().reshape(-1, len(LABELS)), labels.reshape(-1), ignore_index=IGNORE)
    mask, starts = word_masks(windows, run.cfg.label_subwords, logits.shape[1], logits.device)
    return crf.neg_log_likelihood(logits, labels, mask, starts, reduction="token_mean")


def train_step(run: Run, task: str, windows: list[Window]) -> float:
    """One optimiser step on one batch of one task; returns the loss."""
    ids, mask, labels = collate(windows, run.pad_id, run.device, run.cfg.label_subwords)
    with run.autocast():
        logits = run.forward(ids, mask, task)
    loss = head_loss(run, task, windows, logits, labels)
    run.optimizer.zero_grad(set_to_none=True)
    loss.backward()
    if run.cfg.grad_clip:
        torch.nn.utils.clip_grad_norm_(run.model.parameters(), run.cfg.grad_clip)
    run.optimizer.step()
    run.scheduler.step()
    return loss.item()


def run_epoch(
    run: Run, tasks: list[Task], plan: list[tuple[str, list[int]]], state: TrainState, desc: str
) -> Iterator[None]:
    """Take the steps of ``plan`` from ``state.step`` on (the earlier ones were taken before a
    resume), each loss recorded in ``state``; yields after every step, so that the caller can
    stop or checkpoint between steps."""
    run.model.train()
    windows = {t.name: t.train for t in tasks}
    bar = progress_bar(None, desc, run.cfg.progress, total=len(plan), initial=state.step)
    try:
        for task, batch in plan[state.step :]:
            state.epoch_losses.append(train_step(run, task, [windows[task][i] for i in batch]))
            state.step += 1
            bar.update(1)
            bar.set_postfix(loss=f"{state.epoch_losses[-1]:.3f}", task=task, refresh=False)
            yield
    finally:
        bar.close()


def train(
    model: MultiTaskTagger, tokenizer, tasks: list[Task], cfg: TrainConfig, work_dir: str | Path, init: str = ""
) -> TrainResult:
    """Train, select the best dev epoch, score it on test.

    ``work_dir`` keeps the resumable checkpoint until the caller has written its outputs; ``init``
    names the starting weights (part of the checkpoint's fingerprint).
    """
    ensure_writable(work_dir)
    device = pick_device(cfg.device)
    model.to(device)
    epochs, total_steps = budget(tasks, cfg)
    optimizer = build_optimizer(model, cfg, device)
    forward = torch.compile(model) if cfg.compile and device.type == "cuda" else model
    run = Run(
        model, forward, optimizer, build_scheduler(optimizer, cfg, total_steps), device, tokenizer.pad_token_id, cfg
    )
    # the fingerprint hashes every window: only worth it when a checkpoint can be read or written
    fingerprint = _fingerprint(tasks, cfg, init) if cfg.checkpoint else ""
    checkpoint = Checkpoint(work_dir, fingerprint, cfg.checkpoint, cfg.checkpoint_minutes)
    state = checkpoint.resume(run) or TrainState(plan_rng=random.Random(cfg.seed).getstate())
    first_step_at = None

    with _sigterm_flag() as sigterm:
        during = None  # the place named in the message; the steps' epoch and step by default

        def stop_if_signalled() -> None:
            if sigterm.stop:
                raise checkpoint.preempted(run, state, during)

        run.between_batches = stop_if_signalled
        while state.epoch < epochs:
            rng = random.Random()
            rng.setstate(state.plan_rng)  # the epoch's batch plan is a function of this state
            plan = plan_epoch(tasks, cfg, rng)
            if cfg.max_steps:
                plan = plan[: cfg.max_steps - state.steps_done]
            started = time.perf_counter()
            for _ in run_epoch(run, tasks, plan, state, f"epoch {state.epoch + 1}/{epochs}"):
                first_step_at = first_step_at or time.monotonic()
                stop_if_signalled()
                checkpoint.save_if_due(run, state)
                stop_if_signalled()  # arrived during the write: stop now, no second write
            scored = time.perf_counter()
            dev = {t.name: run.evaluate(t, "dev")[0] for t in tasks}
            score = _selection_score(dev, cfg.selection_metric)
            seconds = (scored - started, time.perf_counter() - scored)
            if state.end_epoch(len(plan), dev, score, seconds, rng.getstate()):
                checkpoint.keep_best(model, state)
            log.info(
                "epoch %d: loss %.4f, dev %s %.4f",
                state.epoch,
                state.history[-1]["train_loss"],
                cfg.selection_metric,
                score,
            )
            checkpoint.save_if_due(run, state, epoch_end=True)
            stop_if_signalled()
        state.lap()
        # the test pass too: a checkpoint of the finished training, so a rerun only scores
        during = "in the test pass, after the training"
        checkpoint.restore_best(model)
        result = score_test(run, tasks, state, epochs)
        run.between_batches = None
    result.first_step_at = first_step_at
    return result


def score_test(run: Run, tasks: list[Task], state: TrainState, epochs: int) -> TrainResult:
    """Score the model (the best dev epoch's weights) on every task's test split."""
    per_task, predictions = {}, {}
    for t in tasks:
        test, predictions[t.name] = run.evaluate(t, "test")
        per_task[t.name] = {
            "entity_type": t.entity,
            "train_windows": len(t.train),
            "train_windows_total": t.train_total or len(t.train),
            "dev": state.best_dev[t.name],
            "test": test,
            **t.meta,
        }
    return TrainResult(state, epochs, str(run.device), asdict(run.cfg), per_task, predictions)


def write_predictions(path: str | Path, sentences_gold, sentences_pred) -> None:
    """CoNLL with columns token, gold, predicted; -DOCSTART- between source documents."""
    lines, last_doc = [], None
    for (doc, words, gold), (_, _, pred) in zip(sentences_gold, sentences_pred):
        if doc != last_doc:
            lines += [f"-DOCSTART-\t{doc}\tO\tO", ""]
            last_doc = doc
        lines += [f"{w}\t{g}\t{p}" for w, g, p in zip(words, gold, pred)] + [""]
    with atomic_path(path) as tmp:
        tmp.write_text("\n".join(lines) + "\n", encoding="utf-8")
