"""Storage table from saved model folders: MiniLM encoder with fresh (untrained) heads is
enough, sizes do not depend on training."""

import pytest

from mtlner.errors import UserError
from mtlner.training.model import MultiTaskTagger, load_tokenizer
from mtlner.report.storage import storage_table, write_storage_table

TASKS = {"a": "gene", "b": "gene", "c": "species"}
HEAD = 384 * 4 + 4  # MiniLM hidden size x 4 labels + bias


@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    folder = tmp_path_factory.mktemp("storage")
    tokenizer = load_tokenizer("packaged:minilm")
    mtl = MultiTaskTagger.create("packaged:minilm", TASKS)
    mtl.save(folder / "mtl", tokenizer)
    stl = MultiTaskTagger(mtl.encoder, {"a": "gene"})
    stl.save(folder / "stl_a", tokenizer)
    return folder


def test_stl_from_the_mtl_folder_is_encoder_plus_one_head(saved):
    frame = storage_table(saved / "mtl", max_length=32, batch=2).set_index("setup")
    one, stl, mtl = (
        frame.loc["STL, one task"],
        frame.loc["STL, one model per task"],
        frame.loc["MTL, one encoder + all heads"],
    )
    assert mtl["parameters"] - one["parameters"] == 2 * HEAD
    assert stl["parameters"] == 3 * one["parameters"] and stl["models"] == 3 and mtl["models"] == 1
    assert stl["disk_mb"] == pytest.approx(3 * one["disk_mb"])
    assert one["disk_mb"] < mtl["disk_mb"] < 1.01 * one["disk_mb"]
    assert mtl["weights_in_memory_mb"] == pytest.approx(mtl["parameters"] * 4 / 2**20)
    assert mtl["inference_peak_mb"] > 0 and stl["inference_peak_mb"] == pytest.approx(3 * one["inference_peak_mb"])
    assert "STL folders not saved" in one["measured_from"] and mtl["batch"] == "2 x 32 subwords"


def test_saved_stl_folders_are_measured_when_given(saved, tmp_path):
    written = write_storage_table(saved / "mtl", tmp_path, stl_models=[saved / "stl_a"], max_length=32, batch=2)
    assert [p.name for p in written] == ["storage.csv", "storage.md"]
    text = (tmp_path / "storage.md").read_text()
    assert text.startswith("# Storage and memory") and "1 saved STL model folders" in text


def test_a_folder_without_heads_is_named(tmp_path):
    (tmp_path / "encoder").mkdir()
    (tmp_path / "model.json").write_text("{}")
    with pytest.raises(UserError, match=f"{tmp_path} is not a saved model: heads.pt is missing"):
        storage_table(tmp_path)
