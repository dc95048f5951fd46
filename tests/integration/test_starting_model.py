"""A damaged saved model as the start of a training job (STL from MTL: `--init` the MTL model
without a type) is one message naming the folder and the part, with the command that rebuilds
it: the same checks as `mtlner tag --model` (mtlner.training.model.check_model_folder), then the load."""

import re

import pytest

from mtlner.cli import main
from mtlner.data.corpus import read_conll
from mtlner.data.windows import build_windows, save_windows
from tests.helpers import DEMO_CORPORA
from tests.helpers.models import BROKEN, copy_model

CASES = ["heads.pt truncated", "model.json missing", "encoder config missing", "encoder weights truncated"]


@pytest.fixture(scope="module")
def windows_dir(tmp_path_factory, tokenizer):
    folder = tmp_path_factory.mktemp("windows") / "gene_demo_a"
    folder.mkdir()
    for split in ("train", "dev", "test"):
        docs, _ = read_conll(DEMO_CORPORA / "gene_demo_a" / f"{split}.tsv")
        save_windows(build_windows(docs, tokenizer, 64)[:2], folder / f"{split}.pt", {"max_length": 64})
    return folder


@pytest.mark.parametrize("case", CASES)
def test_a_damaged_starting_model_says_which_part_and_how_to_rebuild(case, model_dir, windows_dir, tmp_path, capsys):
    mutate, part, message = BROKEN[case]
    broken = copy_model(model_dir, tmp_path / "without_species" / "model")
    mutate(broken)
    out = tmp_path / "job"
    args = ["train", "--kind", "stl_from_mtl", "--task", f"gene_demo_a=gene={windows_dir}", "--init", str(broken)]
    code = main(args + ["--tokenizer", "packaged:minilm", "--epochs", "1", "--no-progress", "--out-dir", str(out)])
    err = capsys.readouterr().err
    assert code == 2 and "Traceback" not in err, err
    assert err.startswith(f"mtlner train: error: the starting model {broken} is damaged: ")
    assert str(broken / part) in err and re.search(message, err), err
    assert f"-> rebuild it and what reads it: snakemake --cores N --forcerun {broken}" in err
    assert not (out / "metrics.json").exists()
