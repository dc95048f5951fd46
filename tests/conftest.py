"""Fixtures shared by every tier; helpers (paths, files, CLI and Snakemake runs) are in tests/helpers/."""

import os

import pytest

from tests.helpers import ROOT, demo_corpus

os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
os.environ.setdefault("HF_HUB_OFFLINE", "1")


@pytest.fixture(scope="session")
def tokenizer():
    from mtlner.training.model import load_tokenizer

    return load_tokenizer("packaged:minilm")


@pytest.fixture(scope="session")
def root():
    return ROOT


@pytest.fixture(scope="session")
def species_demo():
    """The committed species_demo corpus folder: an error, not a skip, when it is missing."""
    return demo_corpus("species_demo")
