"""Inference in one place: device, padding, batches, precision, prediction and IOB spans.

Training (dev and test scoring), ``mtlner tag``, the storage measurement and the benchmark all
read windows through these functions, so a window is padded, batched and read alike everywhere:

- :func:`pick_device`: ``auto``, ``cpu``, ``cuda`` or ``cuda:N``;
- :func:`collate`: pad a batch to its longest window (dynamic padding), with the loss' labels;
- :func:`eval_batches`: windows sorted by length and cut under a token budget (little padding,
  bounded memory); :func:`predict_windows` hands the predictions back in the windows' order;
- :func:`autocast`: bf16 on CUDA when asked, full precision everywhere else;
- :func:`predict_windows`: each word's label (and its probability) from one or more task heads,
  read where the model was trained to put it (:func:`mtlner.data.labels.word_positions`): the
  linear head's argmax, or the CRF head's Viterbi path over those word positions (its
  probability the CRF's marginal, forward-backward);
- :func:`word_masks`: those word positions as the CRF's mask, with every packed sentence's start.

The label scheme and the IOB2 span decoder are :mod:`mtlner.data.labels`'. torch is imported
inside the functions that need it, so a job that imports this module for its types alone
starts without loading torch (about 2 s).
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from typing import TYPE_CHECKING, NamedTuple

from mtlner.data.labels import IGNORE, word_positions

if TYPE_CHECKING:
    import torch

    from mtlner.data.windows import Window

# --------------------------------------------------------------------------- device, batches


def pick_device(name: str) -> torch.device:
    """``auto``: CUDA when available, else the CPU; CUDA asked for where there is none is a UserError."""
    import torch

    from mtlner.errors import UserError

    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name.startswith("cuda") and not torch.cuda.is_available():
        raise UserError(
            f"device {name!r} requested but CUDA is not available", hint="set training.device to auto or cpu"
        )
    return torch.device(name)


def autocast(device: torch.device, bf16: bool = True) -> AbstractContextManager:
    """bf16 autocast on CUDA when ``bf16`` is set, nothing otherwise (CPU runs in float32)."""
    import torch

    if bf16 and device.type == "cuda":
        return torch.autocast("cuda", dtype=torch.bfloat16)
    return contextlib.nullcontext()


def collate(
    windows: list[Window], pad_id: int, device: torch.device, label_subwords: str = "all", length: int | None = None
):
    """(input ids, attention mask, labels) of a batch, padded to its longest window (dynamic
    padding) or to ``length`` subwords (the original procedure's fixed shapes, for the
    benchmark). Pads are ignored by the loss (``IGNORE``); with ``label_subwords="first"`` only
    each word's first subword keeps its label (the others and [CLS]/[SEP] are ignored too, as in
    Hugging Face's token-classification examples)."""
    import torch

    longest = max(len(w.input_ids) for w in windows)
    if length is not None and longest > length:
        raise ValueError(f"window of {longest} subwords does not fit max_length={length}")
    width = longest if length is None else length
    ids = torch.full((len(windows), width), pad_id, dtype=torch.long)
    labels = torch.full((len(windows), width), IGNORE, dtype=torch.long)
    mask = torch.zeros((len(windows), width), dtype=torch.long)
    for row, w in enumerate(windows):
        n = len(w.input_ids)
        ids[row, :n] = torch.tensor(w.input_ids)
        if label_subwords == "all":
            labels[row, :n] = torch.tensor(w.labels)
        else:
            starts = word_positions(w, "first")
            labels[row, starts] = torch.tensor([w.labels[i] for i in starts], dtype=torch.long)
        mask[row, :n] = 1
    pin = device.type == "cuda"
    return tuple(t.pin_memory().to(device, non_blocking=True) if pin else t for t in (ids, mask, labels))


def eval_batches(windows: list[Window], max_tokens: int) -> list[list[int]]:
    """Window indices sorted by length, cut so that each padded batch stays under ``max_tokens``
    (a window longer than the budget is a batch of its own)."""
    order = sorted(range(len(windows)), key=lambda i: len(windows[i].input_ids))
    batches, batch = [], []
    for i in order:
        if batch and len(windows[i].input_ids) * (len(batch) + 1) > max_tokens:
            batches.append(batch)
            batch = []
        batch.append(i)
    if batch:
        batches.append(batch)
    return batches


def word_masks(windows: list[Window], label_subwords: str, width: int, device: torch.device):
    """(mask, sentence_starts) of a padded batch for a CRF head: each word's read-from subword
    (:func:`mtlner.data.labels.word_positions`), so [CLS], [SEP], pads and the subwords a word
    is not read from are never CRF states; every sentence of a packed window starts anew (no I)."""
    from mtlner.training.crf import masks_from_positions

    positions = [word_positions(w, label_subwords) for w in windows]
    return masks_from_positions(positions, width, [w.sentence_lengths for w in windows], device=device)


# --------------------------------------------------------------------------- prediction


class WordPredictions(NamedTuple):
    """One head's reading of one window: a label id per word and, when asked for, the softmax
    probability of that label (None otherwise)."""

    labels: list[int]
    probabilities: list[float] | None = None


def _logits(model, ids, mask, tasks: Sequence[str]) -> dict:
    """Each task's logits. One task: the model's own forward (it may be torch.compile'd). Several:
    the encoder once and every head on its output, which is what the forward computes per task
    in eval mode (dropout is the identity there), at a fraction of the cost."""
    if len(tasks) == 1:
        return {tasks[0]: model(ids, mask, tasks[0])}
    tagger = getattr(model, "_orig_mod", model)  # the module inside a torch.compile wrapper
    hidden = tagger.encoder(input_ids=ids, attention_mask=mask).last_hidden_state
    return {task: tagger.heads[task](hidden) for task in tasks}


def predict_windows(
    model,
    windows: list[Window],
    pad_id: int,
    device: torch.device,
    max_tokens: int,
    tasks: Sequence[str] | None = None,
    *,
    label_subwords: str = "all",
    amp: Callable[[], AbstractContextManager] | None = None,
    probabilities: bool = False,
    progress: Callable | None = None,
) -> list[dict[str, WordPredictions]]:
    """Per window (in the order given), per task of ``tasks`` (default: every head of the model):
    the label of every word, read at its last subword (``label_subwords="all"``, the paper's) or
    its first (``"first"``), with its probability when ``probabilities`` is set.

    ``model`` is a :class:`~mtlner.training.model.MultiTaskTagger` (or its torch.compile'd version);
    a CRF head's words are its Viterbi path, their probabilities the CRF's marginals of that path's
    labels (each word's own, not the whole path's);
    windows are padded in length-sorted batches of at most ``max_tokens`` padded subwords, which
    does not change any window's logits (its pads are masked). ``amp``: a zero-argument factory
    of the context every forward pass runs in (default: :func:`autocast` of ``device``, bf16 on
    CUDA). ``progress``: called with the number of windows of every batch done.
    """
    import torch

    tagger = getattr(model, "_orig_mod", model)
    if tasks is None:
        tasks = list(tagger.heads)
    crfs = getattr(tagger, "crfs", {})
    amp = amp or (lambda: autocast(device))
    out: list[dict[str, WordPredictions] | None] = [None] * len(windows)
    model.eval()
    with torch.inference_mode():
        for batch in eval_batches(windows, max_tokens):
            ids, mask, _ = collate([windows[i] for i in batch], pad_id, device)
            with amp():
                logits = _logits(model, ids, mask, tasks)
            read = {}
            words = None
            for task, values in logits.items():
                if task in crfs:
                    words = words or word_masks([windows[i] for i in batch], label_subwords, ids.shape[1], device)
                    read[task] = _crf_read(crfs[task], values, *words, probabilities)
                    continue
                best = values.argmax(-1)
                chance = (
                    values.float().softmax(-1).gather(-1, best.unsqueeze(-1)).squeeze(-1).cpu()
                    if probabilities
                    else None
                )
                read[task] = (best.cpu(), chance)
            for row, i in enumerate(batch):
                at = word_positions(windows[i], label_subwords)
                out[i] = {
                    task: WordPredictions(
                        best[row, at].tolist(), chance[row, at].tolist() if chance is not None else None
                    )
                    for task, (best, chance) in read.items()
                }
            if progress is not None:
                progress(len(batch))
    return out


def _crf_read(crf, emissions, mask, starts, probabilities: bool):
    """A CRF head's reading of a batch, in the shape the linear head's is read from: (label id
    per subword position [batch, seq], its marginal probability or None), filled at the word
    positions (the mask) in their order."""
    import torch

    paths = crf.decode(emissions, mask, starts)
    best = torch.zeros(mask.shape, dtype=torch.long)
    mask_cpu = mask.cpu()
    for row, path in enumerate(paths):
        best[row, mask_cpu[row]] = torch.tensor(path, dtype=torch.long)
    chance = None
    if probabilities:
        marginals = crf.marginals(emissions, mask, starts).cpu()
        chance = marginals.gather(-1, best.unsqueeze(-1)).squeeze(-1)
    return best, chance
