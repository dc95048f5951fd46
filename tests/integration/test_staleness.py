"""Every result follows its inputs: a changed label, config value or starting model never
reuses an old checkpoint, window cache or metrics file."""

import copy
import logging
import os

import pytest
import torch

from mtlner.training.model import MultiTaskTagger
from mtlner.training.loop import Task, TrainConfig, _fingerprint, train
from mtlner.training.job import training_scores
from mtlner.data.labels import LABEL_ID

from tests.helpers.training import demo_task


def _flip_one_label(task: Task, split: str) -> Task:
    changed = copy.deepcopy(task)
    window = getattr(changed, split)[0]
    position = window.word_ends[0]
    window.labels[position] = LABEL_ID["B"] if window.labels[position] != LABEL_ID["B"] else LABEL_ID["O"]
    return changed


@pytest.fixture(scope="module")
def small_task(tokenizer):
    return demo_task("gene_demo_a", tokenizer, "gene", limit=4)


@pytest.mark.parametrize("split", ["train", "dev", "test"])
def test_fingerprint_changes_when_one_label_changes(small_task, split):
    cfg = TrainConfig(epochs=1)
    assert _fingerprint([small_task], cfg, "enc") != _fingerprint([_flip_one_label(small_task, split)], cfg, "enc")


def test_fingerprint_follows_settings_and_ignores_display(small_task):
    cfg = TrainConfig(epochs=1)
    base = _fingerprint([small_task], cfg, "enc")
    assert _fingerprint([small_task], TrainConfig(epochs=1, progress=False), "enc") == base
    assert _fingerprint([small_task], TrainConfig(epochs=1, checkpoint_minutes=0), "enc") == base  # when, not what
    assert _fingerprint([small_task], TrainConfig(epochs=1, lr=1e-4), "enc") != base
    assert _fingerprint([small_task], cfg, "other-encoder") != base


def test_fingerprint_follows_the_starting_model_folder(small_task, tmp_path):
    model_dir = tmp_path / "model"
    model_dir.mkdir()
    weights = model_dir / "heads.pt"
    weights.write_bytes(b"first")
    cfg = TrainConfig(epochs=1)
    before = _fingerprint([small_task], cfg, str(model_dir))
    weights.write_bytes(b"second, retrained")
    os.utime(weights, ns=(1, 1))
    assert _fingerprint([small_task], cfg, str(model_dir)) != before


@pytest.mark.slow
def test_checkpoint_of_other_labels_is_not_resumed(small_task, tokenizer, tmp_path, caplog):
    cfg = TrainConfig(
        epochs=1, lr=2e-4, batch_size=4, max_tokens=512, progress=False, checkpoint=True, checkpoint_minutes=0
    )
    work = tmp_path / "work"

    def run(task):
        torch.manual_seed(0)
        model = MultiTaskTagger.create("packaged:minilm", {task.name: "gene"})
        caplog.clear()
        with caplog.at_level(logging.INFO, logger="mtlner.training.loop"):
            result = training_scores(train(model, tokenizer, [task], cfg, work, init="packaged:minilm"))
        return result, caplog.text

    first, _ = run(small_task)
    assert (work / "checkpoint.pt").is_file()
    # same data: the finished checkpoint is resumed, nothing is trained again
    _, log_same = run(small_task)
    assert "resuming" in log_same
    # one corrected tag: the old checkpoint is ignored and training starts over
    corrected = _flip_one_label(small_task, "train")
    second, log_changed = run(corrected)
    assert "ignoring" in log_changed and "resuming" not in log_changed
    assert len(second["history"]) == 1


@pytest.mark.slow
def test_settings_that_cannot_change_a_result_retrain_nothing(tmp_path):
    """progress, checkpoint_minutes, device and threads reach the job outside its command, so
    Snakemake's params and code triggers do not see them; a real training setting still does."""
    import json

    import yaml

    from tests.helpers.workflow import job_counts, snakemake, tiny_config

    target = "results/stl/gene_demo_a/ablation_0.0/seed_1/metrics.json"

    def variant(name, threads=1, **training):
        config = yaml.safe_load(tiny_config(tmp_path).read_text())
        config["tasks"] = {"gene_demo_a": config["tasks"]["gene_demo_a"]}
        config["ablation_levels"] = [0.0]
        config["threads"] = threads
        config["training"].update(checkpoint=True, **training)
        path = tmp_path / f"{name}.yaml"
        path.write_text(yaml.safe_dump(config))
        return path

    snakemake(tmp_path, target, config=variant("first", checkpoint_minutes=7))
    # the job got the setting through $MTLNER_TRAIN_OPTIONS
    assert json.loads((tmp_path / target).read_text())["config"]["checkpoint_minutes"] == 7
    for name, threads, training in [
        ("progress", 1, {"checkpoint_minutes": 7, "progress": True}),
        ("interval", 1, {"checkpoint_minutes": 0.5}),
        ("device", 1, {"checkpoint_minutes": 7, "device": "cpu"}),
        ("threads", 2, {"checkpoint_minutes": 7}),
    ]:
        dry = snakemake(tmp_path, target, "-n", config=variant(name, threads, **training))
        assert "Nothing to be done" in dry.stdout + dry.stderr, (name, dry.stdout[-2000:])
    # a setting that changes the numbers still retrains
    dry = snakemake(tmp_path, target, "-n", config=variant("lr", checkpoint_minutes=7, lr=1e-4))
    assert job_counts(dry.stdout) == {"train_stl": 1, "total": 1}
