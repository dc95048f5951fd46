"""The original training procedure (NLPatVCU multitasking_bert), rebuilt from mtlner pieces.

Only for the speed benchmark (``benchmarks/bench.py``, which imports it from this folder); the
workflow never calls it, so it lives here and not in the package. It keeps what made the
original expensive and nothing else:

- every window padded to ``max_length`` (512 in the paper), whatever its real length;
- fixed batches of ``batch_size`` windows (25 in the paper), in shuffled order, one task per
  step, round robin (same interleaving as :func:`mtlner.training.loop.round_robin`);
- fp32 everywhere (no autocast), ``torch.no_grad`` (not ``inference_mode``) for prediction;
- after EVERY epoch both dev and test are predicted, with the same padded batches.

The model, the loss (pads excluded), the optimiser (AdamW, same lr, same gradient clipping),
the windows and the metrics are mtlner's, so the benchmark compares procedures, not code
bases. Selection is the same as mtlner's (best mean dev F1); the test score reported is the
one predicted at that epoch.
"""

from __future__ import annotations

import random
import time
from pathlib import Path

import torch
import torch.nn.functional as F

from mtlner.data.labels import IGNORE, LABELS

from mtlner.training.inference import collate
from mtlner.training.metrics import scores
from mtlner.training.loop import Task, TrainConfig, _selection_score, round_robin, sentences_of
from mtlner.data.windows import Window


def padded_collate(windows: list[Window], pad_id: int, max_length: int, device: torch.device):
    """Pad every window to ``max_length`` (the original's fixed-shape batches); ValueError for a
    longer window."""
    return collate(windows, pad_id, device, length=max_length)


def fixed_batches(n: int, batch_size: int, rng: random.Random) -> list[list[int]]:
    """Shuffled indices cut into consecutive batches of ``batch_size`` (a DataLoader with shuffle)."""
    order = list(range(n))
    rng.shuffle(order)
    return [order[i : i + batch_size] for i in range(0, n, batch_size)]


def plan_epoch_original(tasks: list[Task], batch_size: int, rng: random.Random) -> list[tuple[str, list[int]]]:
    return round_robin({t.name: fixed_batches(len(t.train), batch_size, rng) for t in tasks})


@torch.no_grad()
def predict_padded(model, task: str, windows: list[Window], pad_id: int, max_length: int, batch_size: int, device):
    """Word-level predictions, batches of ``batch_size`` windows padded to ``max_length``, fp32."""
    model.eval()
    predicted = []
    for start in range(0, len(windows), batch_size):
        chunk = windows[start : start + batch_size]
        ids, mask, _ = padded_collate(chunk, pad_id, max_length, device)
        logits = model(ids, mask, task)
        # the original also computed a softmax and its max for every subword
        probabilities = torch.softmax(logits, dim=-1).max(-1).values.cpu()
        best = logits.argmax(-1).cpu()
        del probabilities
        for row, w in enumerate(chunk):
            predicted.append(best[row, w.word_ends].tolist())
    return predicted


def evaluate_padded(model, task: Task, split: str, pad_id: int, max_length: int, batch_size: int, device):
    windows = getattr(task, split)
    predicted = predict_padded(model, task.name, windows, pad_id, max_length, batch_size, device)
    gold = [[w.labels[i] for i in w.word_ends] for w in windows]
    return scores([s[2] for s in sentences_of(windows, gold)], [s[2] for s in sentences_of(windows, predicted)])


def train_original(
    model,
    tokenizer,
    tasks: list[Task],
    cfg: TrainConfig,
    max_length: int,
    device: str | torch.device = "cpu",
    checkpoint_dir=None,
) -> dict:
    """Train with the original procedure; returns a history shaped like :func:`mtlner.training.loop.train`'s.

    With ``checkpoint_dir`` the model is saved after every epoch, as the original did.
    """
    device = torch.device(device)
    model.to(device)
    pad_id = tokenizer.pad_token_id
    no_decay = ("bias", "LayerNorm.weight", "norm.weight")
    groups = [
        {
            "params": [p for n, p in model.named_parameters() if not n.endswith(no_decay)],
            "weight_decay": cfg.weight_decay,
        },
        {"params": [p for n, p in model.named_parameters() if n.endswith(no_decay)], "weight_decay": 0.0},
    ]
    optimizer = torch.optim.AdamW(groups, lr=cfg.lr)
    rng = random.Random(cfg.seed)
    history = []
    best = {"score": -float("inf"), "epoch": 0}
    windows_by_task = {t.name: t.train for t in tasks}
    for epoch in range(1, cfg.epochs + 1):
        model.train()
        plan = plan_epoch_original(tasks, cfg.batch_size, rng)
        started = time.perf_counter()
        losses = []
        for task_name, batch in plan:
            ids, mask, labels = padded_collate(
                [windows_by_task[task_name][i] for i in batch], pad_id, max_length, device
            )
            logits = model(ids, mask, task_name)
            loss = F.cross_entropy(logits.float().reshape(-1, len(LABELS)), labels.reshape(-1), ignore_index=IGNORE)
            optimizer.zero_grad()
            loss.backward()
            if cfg.grad_clip:
                torch.nn.utils.clip_grad_norm_(model.parameters(), cfg.grad_clip)
            optimizer.step()
            losses.append(loss.item())
        train_seconds = time.perf_counter() - started
        eval_started = time.perf_counter()
        dev = {t.name: evaluate_padded(model, t, "dev", pad_id, max_length, cfg.batch_size, device) for t in tasks}
        test_started = time.perf_counter()
        test = {t.name: evaluate_padded(model, t, "test", pad_id, max_length, cfg.batch_size, device) for t in tasks}
        eval_seconds = time.perf_counter() - eval_started
        score = _selection_score(dev, cfg.selection_metric)
        record = {
            "epoch": epoch,
            "train_loss": sum(losses) / max(1, len(losses)),
            "steps": len(plan),
            "train_seconds": train_seconds,
            "eval_seconds": eval_seconds,  # dev + test
            "test_seconds": eval_started + eval_seconds - test_started,
            "checkpoint_seconds": 0.0,
            "dev_selection_score": score,
            "dev": {name: {lvl: r[lvl]["f1"] for lvl in ("word", "entity")} for name, r in dev.items()},
            "test": {name: {lvl: r[lvl]["f1"] for lvl in ("word", "entity")} for name, r in test.items()},
        }
        history.append(record)
        if score > best["score"]:
            best = {"score": score, "epoch": epoch, "test": record["test"]}
        if checkpoint_dir is not None:
            saved = time.perf_counter()
            torch.save(model.state_dict(), Path(checkpoint_dir) / f"checkpoint_{epoch}.pt")
            record["checkpoint_seconds"] = time.perf_counter() - saved
    return {
        "best_epoch": best["epoch"],
        "dev_selection_score": best["score"],
        "history": history,
        "best_test": best.get("test"),
    }
