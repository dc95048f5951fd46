import os
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SHARED_CORPORA = Path(os.environ.get("MTLNER_SHARED_CORPORA", ROOT.parent / "shared" / "corpora"))
DEMO_CORPORA = ROOT / "tests" / "fixtures" / "synthetic_corpora"

os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
os.environ.setdefault("HF_HUB_OFFLINE", "1")


@pytest.fixture(scope="session")
def tokenizer():
    from mtlner.model import load_tokenizer

    return load_tokenizer("packaged:minilm")


@pytest.fixture(scope="session")
def root():
    return ROOT


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


sys.path.insert(0, str(Path(__file__).parent))
