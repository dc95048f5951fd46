"""Ways to damage a saved model folder (the tag-failure and starting-model tests; the model itself
is the model_dir fixture of tests/integration/conftest.py)."""

import json
import shutil

import torch

TASKS = {"gene_demo_a": "gene", "species_demo": "species"}


def copy_model(model_dir, dest):
    """A model folder that shares the encoder's files by symbolic link (mutations replace a link, never its target)."""
    dest.mkdir(parents=True)
    for name in ("model.json", "heads.pt", "crf.pt"):
        if (model_dir / name).is_file():  # crf.pt: CRF models only
            shutil.copy(model_dir / name, dest / name)
    (dest / "encoder").mkdir()
    for f in (model_dir / "encoder").iterdir():
        (dest / "encoder" / f.name).symlink_to(f)
    return dest


def _replace(path, data: bytes):
    path.unlink()
    path.write_bytes(data)


def _heads(path, shapes):
    path.unlink()
    torch.save({k: torch.zeros(s) for k, s in shapes.items()}, path)


BROKEN = {
    "heads.pt truncated": (
        lambda m: _replace(m / "heads.pt", (m / "heads.pt").read_bytes()[:5000]),
        "heads.pt",
        r"cannot be read \(.*\): it is truncated or not a heads file",
    ),
    "heads.pt empty": (
        lambda m: _replace(m / "heads.pt", b""),
        "heads.pt",
        r"cannot be read \(EOFError\): it is truncated",
    ),
    "heads.pt not torch": (lambda m: _replace(m / "heads.pt", b"hello"), "heads.pt", r"cannot be read"),
    "heads.pt of another task set": (
        lambda m: _heads(m / "heads.pt", {"chemical_demo.weight": (4, 384), "chemical_demo.bias": (4,)}),
        "heads.pt",
        r"holds heads for chemical_demo but .*model\.json lists gene_demo_a, species_demo: the two files come from different models",
    ),
    "heads.pt of another encoder": (
        lambda m: _heads(
            m / "heads.pt", {f"{t}.{p}": (4, 768) if p == "weight" else (4,) for t in TASKS for p in ("weight", "bias")}
        ),
        "heads.pt",
        r"the head of gene_demo_a has shape \(4, 768\), the encoder in .* needs \(4, 384\)",
    ),
    "model.json missing": (
        lambda m: (m / "model.json").unlink(),
        "model.json",
        r"model\.json is missing: .* is not a saved model",
    ),
    "model.json invalid": (
        lambda m: (m / "model.json").write_text('{"tasks": {"gene'),
        "model.json",
        r"is not valid JSON \(JSONDecodeError",
    ),
    "model.json not UTF-8": (
        lambda m: (m / "model.json").write_bytes(b'{"tasks": "\xff"}'),
        "model.json",
        r"is not valid JSON \(UnicodeDecodeError",
    ),
    "model.json without tasks": (
        lambda m: (m / "model.json").write_text('{"kind": "mtl"}'),
        "model.json",
        r"does not list the model's tasks",
    ),
    "model.json is a list": (
        lambda m: (m / "model.json").write_text("[]"),
        "model.json",
        r"does not list the model's tasks",
    ),
    "model.json with a bad max_length": (
        lambda m: (m / "model.json").write_text(json.dumps({"tasks": TASKS, "max_length": "long"})),
        "model.json",
        r"max_length 'long' is not a window size",
    ),
    "encoder missing": (lambda m: shutil.rmtree(m / "encoder"), "", r"encoder is missing: .* is not a saved model"),
    "encoder is a file": (
        lambda m: (shutil.rmtree(m / "encoder"), (m / "encoder").write_text("x")),
        "encoder",
        r"is not a folder",
    ),
    "encoder config missing": (
        lambda m: (m / "encoder" / "config.json").unlink(),
        "encoder/config.json",
        r"is missing: .* is not a saved encoder",
    ),
    "encoder config invalid": (
        lambda m: _replace(m / "encoder" / "config.json", b"{"),
        "encoder/config.json",
        r"is not valid JSON",
    ),
    "encoder weights missing": (
        lambda m: (m / "encoder" / "model.safetensors").unlink(),
        "encoder",
        r"holds no encoder weights \(model\.safetensors or pytorch_model\.bin\)",
    ),
    "encoder weights truncated": (
        lambda m: _replace(
            m / "encoder" / "model.safetensors", (m / "encoder" / "model.safetensors").read_bytes()[:100_000]
        ),
        "encoder",
        r"cannot (load|read) the encoder",
    ),
    "tokenizer missing": (
        lambda m: (m / "encoder" / "tokenizer.json").unlink(),
        "encoder",
        r"holds no tokenizer \(tokenizer\.json or vocab\.txt\)",
    ),
    "tokenizer of another model": (
        lambda m: (
            (m / "encoder" / "tokenizer.json").unlink(),
            (m / "encoder" / "vocab.txt").write_text("[PAD]\n[UNK]\n[CLS]\n[SEP]\n[MASK]\n"),
        ),
        "encoder",
        r"has 5 tokens but the encoder's vocabulary 30522: its tokenizer files are missing or come from another model",
    ),
}
