"""Shared test helpers, imported as a package (``from tests.helpers import write``): tests/ and
each tier are packages, so pytest puts the checkout's root on the path and every test module has
a unique name (tests.unit.test_x). Fixtures stay in tests/conftest.py.

- this module: the checkout's paths, small files, the ``mtlner`` CLI in a subprocess;
- ``tests.helpers.workflow``: Snakemake runs and tiny configs;
- ``tests.helpers.training``: window-cached demo tasks for in-process training."""

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SHARED_CORPORA = Path(os.environ.get("MTLNER_SHARED_CORPORA", ROOT.parent / "shared" / "corpora"))
DEMO_CORPORA = ROOT / "tests" / "fixtures" / "synthetic_corpora"


def demo_corpus(name: str) -> Path:
    """A committed synthetic corpus folder; a missing one fails (a moved fixture is no silent skip)."""
    folder = DEMO_CORPORA / name
    missing = [s for s in ("train", "dev", "test") if not (folder / f"{s}.tsv").is_file()]
    if missing:
        raise AssertionError(f"committed fixture {folder} lacks {', '.join(s + '.tsv' for s in missing)}")
    return folder


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def conll(*sentences: str) -> str:
    """'tok/TAG tok/TAG' sentences -> CoNLL text."""
    blocks = []
    for sent in sentences:
        blocks.append("\n".join(t.rsplit("/", 1)[0] + "\t" + t.rsplit("/", 1)[1] for t in sent.split()))
    return "\n\n".join(blocks) + "\n"


def five_sentences_two_blank_runs() -> str:
    """CoNLL text whose documents are separated by two blank lines (a common export without -DOCSTART-)."""
    return "a\tB-X\n\nb\tO\n\n\nc\tO\n\nd\tB-X\n\n\n\ne\tO\n"


def cli_env(**extra: str) -> dict[str, str]:
    """Environment for an `mtlner` subprocess: this checkout's package first, no GPU, no SLURM."""
    import mtlner

    env = {k: v for k, v in os.environ.items() if not k.startswith("SLURM_")}
    env["PYTHONPATH"] = str(Path(mtlner.__file__).resolve().parents[1]) + os.pathsep + env.get("PYTHONPATH", "")
    env["CUDA_VISIBLE_DEVICES"] = ""
    env.update(extra)
    return env


def without_keys(value, keys: set[str]):
    """``value`` (nested dicts and lists, e.g. a metrics.json) without the dict entries named in
    ``keys`` at any depth: what two runs are compared on once their clocks are left out."""
    if isinstance(value, dict):
        return {k: without_keys(v, keys) for k, v in value.items() if k not in keys}
    if isinstance(value, list):
        return [without_keys(v, keys) for v in value]
    return value


def mtlner_cli(*args: str) -> list[str]:
    return [sys.executable, "-m", "mtlner.cli", *args]


def build_windows(source: Path, task: str, entity: str, base: Path, env: dict[str, str], max_length: int = 64) -> Path:
    """`mtlner prepare` + `mtlner windows` (MiniLM) of a raw corpus folder; returns the window cache."""
    corpus, windows = base / "corpus", base / "windows"
    prepare = ["prepare", "--task", task, "--entity", entity, "--input-dir", str(source), "--out-dir", str(corpus)]
    window = ["windows", "--corpus-dir", str(corpus), "--encoder", "packaged:minilm", "--max-length", str(max_length)]
    for args in (prepare, [*window, "--out-dir", str(windows)]):
        subprocess.run(mtlner_cli(*args), env=env, check=True, capture_output=True)
    return windows
