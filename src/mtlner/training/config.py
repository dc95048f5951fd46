"""Training settings (``mtlner train``'s flags, the config's ``training:`` section).

Apart from :mod:`mtlner.training.loop` so that building the CLI's parser imports no torch: every
``mtlner`` command builds it, and ``prepare``, ``collect``, ``tables`` ... need no torch.
:mod:`mtlner.training.loop` re-exports both names.
"""

from __future__ import annotations

from dataclasses import dataclass

from mtlner.errors import UserError

# our names -> transformers.get_scheduler's; both warm up linearly over warmup_ratio of the steps
SCHEDULES = {"constant": "constant_with_warmup", "linear": "linear"}
# a task's head: the paper's linear layer over every subword, or that layer's scores as the
# emissions of a linear-chain CRF over the words (mtlner.training.crf; the paper's section 7)
HEADS = ("linear", "crf")


@dataclass
class TrainConfig:
    epochs: int = 20
    max_steps: int = 0  # > 0: the budget is this many optimiser steps (epochs is ignored)
    lr: float = 5e-5
    weight_decay: float = 0.0  # on matrices and embeddings only, never on biases or LayerNorm
    warmup_ratio: float = 0.0
    scheduler: str = "constant"  # constant after warm-up, or "linear" (decay to 0)
    batch_size: int = 8  # windows per batch, at most
    max_tokens: int = 4096  # padded subwords per training batch, at most
    eval_max_tokens: int = 16384
    grad_clip: float = 1.0
    dropout: float = 0.1
    seed: int = 1
    upsample: bool = False
    selection_metric: str = "word_f1"  # or "entity_f1"; mean over tasks on dev
    device: str = "auto"
    bf16: bool = True  # CUDA only
    compile: bool = False  # torch.compile, CUDA only
    progress: bool = True
    checkpoint: bool = True  # resumable state on SIGTERM and periodically (off: none at all)
    # Minutes of training between periodic checkpoints; 0: at every epoch end. A BERT-base
    # checkpoint (model + AdamW moments, 1.3 GB) takes 0.8-3.5 s to write here (torch.save of
    # 1.23 GiB, local disk) and ~2.5 s on an H100 machine (BENCHMARKS.md); every 15 minutes that
    # is < 0.4 % of training time, still < 5 % on storage ten times slower, where writing every
    # epoch cost more than the epoch itself. SIGTERM (preemption, time limit) always writes one;
    # a job killed without warning loses at most this much training.
    checkpoint_minutes: float = 15.0
    label_subwords: str = "all"  # "all" (paper: every subword carries its word's tag) or "first"
    head: str = "linear"  # one of HEADS

    def __post_init__(self) -> None:
        # here, not at the top: mtlner.data.windows imports torch, which the CLI's parser does not need
        from mtlner.data.labels import LABEL_SUBWORDS

        if self.label_subwords not in LABEL_SUBWORDS:
            raise UserError(f"label_subwords {self.label_subwords!r} is unknown", hint="use all (paper) or first")
        if self.head not in HEADS:
            raise UserError(f"head {self.head!r} is unknown", hint="use linear (paper) or crf")
        if self.scheduler not in SCHEDULES:
            raise UserError(f"scheduler {self.scheduler!r} is unknown", hint="use constant (paper) or linear")
        if not self.checkpoint_minutes >= 0:
            raise UserError(
                f"checkpoint_minutes {self.checkpoint_minutes!r} must be >= 0", hint="0 checkpoints every epoch end"
            )
