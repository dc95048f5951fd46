"""Fixtures of the integration tier."""

import pytest
import torch

from mtlner.training.model import MultiTaskTagger

from tests.helpers.models import TASKS


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory, tokenizer):
    """A saved untrained MiniLM whose gene head says B for every word."""
    torch.manual_seed(0)
    model = MultiTaskTagger.create("packaged:minilm", TASKS)
    with torch.no_grad():  # gene head: B for every word
        model.heads["gene_demo_a"].weight.zero_()
        model.heads["gene_demo_a"].bias.copy_(torch.tensor([0.0, 10.0, 0.0, 0.0]))
    folder = tmp_path_factory.mktemp("always_b") / "model"
    model.save(folder, tokenizer, extra={"kind": "mtl", "seed": 0, "max_length": 128})
    return folder
