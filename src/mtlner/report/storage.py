"""Storage and memory of the two ways to serve N tasks, measured from saved model folders:

- STL: one model (encoder + one head) per task;
- MTL: one shared encoder + N heads.

Parameters are counted on the loaded model; disk size is the size of the saved files;
inference peak memory is measured in a fresh Python process (so earlier allocations do not
hide it) that loads the model and tags one batch of ``batch`` windows of ``max_length``
subwords with every head it has, the way ``mtlner tag`` does
(:func:`mtlner.training.inference.predict_windows`: bf16 autocast on CUDA, label and probability of
every subword): on CPU the growth of the peak resident set size (``resource.getrusage``), on
CUDA ``torch.cuda.max_memory_allocated``.

When the STL model folders were not kept (``save_models.stl: false``, the default), an STL
model is measured as the MTL folder's encoder with one of its heads, which has exactly the
STL architecture; the table says so in its ``measured_from`` column.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pandas as pd

from mtlner.errors import UserError
from mtlner.training.model import parameter_count

MB = 2**20


def _disk_mb(path: Path) -> float:
    if path.is_file():
        return path.stat().st_size / MB
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file()) / MB


def _check_model(folder: Path) -> None:
    for needed in ("model.json", "heads.pt", "encoder"):
        if not (folder / needed).exists():
            raise UserError(
                f"{folder} is not a saved model: {needed} is missing",
                hint="point to a model/ folder the workflow wrote (save_models in the config)",
            )


def measure_inference(model_dir: str | Path, heads: int | None, max_length: int, batch: int, device: str) -> dict:
    """Peak memory of loading ``model_dir`` (keeping its first ``heads`` heads; None: all) and
    tagging one batch with every kept head, in a fresh process."""
    spec = json.dumps(
        {"model": str(model_dir), "heads": heads, "max_length": max_length, "batch": batch, "device": device}
    )
    proc = subprocess.run([sys.executable, "-m", "mtlner.report.storage", spec], capture_output=True, text=True)
    if proc.returncode != 0:
        raise UserError(f"measuring inference memory of {model_dir} failed:\n{proc.stderr[-2000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def _current_rss() -> int | None:
    """Resident set size now, in bytes (Linux); None where /proc is absent."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return None


def _child(spec: dict) -> dict:
    """Runs in the fresh process started by :func:`measure_inference`."""
    import resource

    import torch
    import transformers  # noqa: F401  (imported before the baseline: its own memory is not the model's)

    from mtlner.training.inference import pick_device, predict_windows
    from mtlner.training.model import MultiTaskTagger
    from mtlner.data.windows import Window

    device = pick_device(spec["device"])
    scale = 1 if sys.platform == "darwin" else 1024  # ru_maxrss: bytes on macOS, KiB on Linux
    before = _current_rss() or resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * scale
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)
    model, tokenizer = MultiTaskTagger.load(spec["model"])
    if spec["heads"] is not None:
        keep = list(model.tasks)[: spec["heads"]]
        model.heads = torch.nn.ModuleDict({t: model.heads[t] for t in keep})
        model.crfs = torch.nn.ModuleDict({t: model.crfs[t] for t in keep if t in model.crfs})
        model.tasks = {t: model.tasks[t] for t in keep}
    model.to(device).eval()
    length = min(spec["max_length"], model.encoder.config.max_position_embeddings)
    generator = torch.Generator().manual_seed(0)
    ids = torch.randint(1000, tokenizer.vocab_size, (spec["batch"], length), generator=generator).tolist()
    # every subword read as a word: the whole batch's labels and probabilities come back
    windows = [Window(row, [0] * length, list(range(length)), [length], [""] * length, 0) for row in ids]
    predict_windows(model, windows, tokenizer.pad_token_id, device, spec["batch"] * length, probabilities=True)
    if device.type == "cuda":
        peak = torch.cuda.max_memory_allocated(device)
    else:
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * scale - before
    return {"peak_mb": peak / MB, "device": str(device), "window": length, "batch": spec["batch"]}


def _parameters(model_dir: Path) -> tuple[int, dict[str, int], str]:
    from mtlner.training.model import MultiTaskTagger

    model, _ = MultiTaskTagger.load(model_dir)
    # a CRF head is its linear emission layer plus the CRF's start, end and transition scores
    per_head = {
        t: parameter_count(h) + (parameter_count(model.crfs[t]) if t in model.crfs else 0)
        for t, h in model.heads.items()
    }
    return parameter_count(model.encoder), per_head, getattr(model, "encoder_source", None) or ""


def storage_table(
    mtl_model: str | Path, stl_models=(), max_length: int = 512, batch: int = 8, device: str = "cpu"
) -> pd.DataFrame:
    """Rows: one STL model, STL for all tasks, MTL for all tasks (see the module docstring)."""
    mtl_model = Path(mtl_model)
    _check_model(mtl_model)
    encoder_params, head_params, source = _parameters(mtl_model)
    n = len(head_params)
    mtl_disk = _disk_mb(mtl_model)
    head_disk = sum(_disk_mb(mtl_model / f) for f in ("heads.pt", "crf.pt") if (mtl_model / f).is_file()) / n
    mtl_peak = measure_inference(mtl_model, None, max_length, batch, device)
    if stl_models:
        stl_models = [Path(p) for p in stl_models]
        for folder in stl_models:
            _check_model(folder)
        stl_params = [_parameters(p) for p in stl_models]
        one_params = stl_params[0][0] + sum(stl_params[0][1].values())
        all_params = sum(e + sum(h.values()) for e, h, _ in stl_params)
        one_disk, all_disk = _disk_mb(stl_models[0]), sum(_disk_mb(p) for p in stl_models)
        stl_peak = measure_inference(stl_models[0], None, max_length, batch, device)
        stl_from = f"{len(stl_models)} saved STL model folders"
        count = len(stl_models)
    else:
        one_params = encoder_params + next(iter(head_params.values()))
        all_params = n * one_params
        one_disk = _disk_mb(mtl_model / "encoder") + _disk_mb(mtl_model / "model.json") + head_disk
        all_disk = n * one_disk
        stl_peak = measure_inference(mtl_model, 1, max_length, batch, device)
        stl_from = f"{mtl_model}: its encoder + one head (STL folders not saved)"
        count = n
    mtl_params = encoder_params + sum(head_params.values())
    weights = 4 / MB  # float32 bytes per parameter
    rows = [
        {"setup": "STL, one task", "models": 1, "tasks": 1, "parameters": one_params, "disk_mb": one_disk,
         "weights_in_memory_mb": one_params * weights, "inference_peak_mb": stl_peak["peak_mb"], "measured_from": stl_from},
        {"setup": "STL, one model per task", "models": count, "tasks": count, "parameters": all_params, "disk_mb": all_disk,
         "weights_in_memory_mb": all_params * weights, "inference_peak_mb": stl_peak["peak_mb"] * count,
         "measured_from": stl_from + f"; peak = {count} x one model (all resident)"},
        {"setup": "MTL, one encoder + all heads", "models": 1, "tasks": n, "parameters": mtl_params, "disk_mb": mtl_disk,
         "weights_in_memory_mb": mtl_params * weights, "inference_peak_mb": mtl_peak["peak_mb"], "measured_from": str(mtl_model)},
    ]  # fmt: skip
    frame = pd.DataFrame(rows)
    frame["encoder"] = source
    frame["device"] = mtl_peak["device"]
    frame["batch"] = f"{mtl_peak['batch']} x {mtl_peak['window']} subwords"
    return frame


TITLE = (
    "Storage and memory: one STL model per task vs one MTL encoder with all heads (parameters, disk MB, float32 "
    "weights in memory, peak memory of tagging one batch with every head in a fresh process: CPU peak RSS growth or "
    "CUDA max allocated)"
)


def write_storage_table(mtl_model, out_dir, stl_models=(), max_length=512, batch=8, device="cpu") -> list[Path]:
    from mtlner.report.io import write_table

    frame = storage_table(mtl_model, stl_models, max_length, batch, device)
    return write_table(frame, Path(out_dir) / "storage", TITLE)


if __name__ == "__main__":  # the measuring child process
    print(json.dumps(_child(json.loads(sys.argv[1]))))
