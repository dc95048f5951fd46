"""CRF heads (issue 21) through the model, the loss, inference, saved folders and `mtlner tag`,
on the real MiniLM: the CRF module alone is tests/unit/test_crf.py."""

import json

import pytest
import torch

from mtlner.data.labels import LABEL_ID, LABELS, iob_spans
from mtlner.errors import UserError
from mtlner.report.storage import _parameters
from mtlner.tag.pipeline import tag_files
from mtlner.training.inference import predict_windows
from mtlner.training.loop import TrainConfig, _fingerprint, train
from mtlner.training.model import MultiTaskTagger, check_model_folder

from tests.helpers import write
from tests.helpers.models import TASKS, copy_model
from tests.helpers.training import demo_task

INSIDE, BEGIN = LABEL_ID["I"], LABEL_ID["B"]


def _favour_i(model, task):
    """The task's linear layer scores I far above every other label, whatever the subword."""
    with torch.no_grad():
        model.heads[task].weight.zero_()
        model.heads[task].bias.copy_(torch.tensor([0.0, 1.0, 5.0, 0.0]))


@pytest.fixture(scope="module")
def crf_model_dir(tmp_path_factory, tokenizer):
    torch.manual_seed(0)
    model = MultiTaskTagger.create("packaged:minilm", TASKS, head="crf")
    with torch.no_grad():
        for crf in model.crfs.values():
            crf.transitions.normal_()  # not the fresh zeros, so a round trip is visible
    folder = tmp_path_factory.mktemp("crf") / "model"
    model.save(folder, tokenizer, extra={"kind": "mtl", "seed": 0, "max_length": 64})
    return folder, model


def test_a_crf_model_folder_round_trips_with_its_head_and_transitions(crf_model_dir):
    folder, model = crf_model_dir
    assert json.loads((folder / "model.json").read_text())["head"] == "crf"
    assert (folder / "crf.pt").is_file()
    loaded, _ = MultiTaskTagger.load(folder)
    assert loaded.head == "crf" and list(loaded.crfs) == list(TASKS)
    for task in TASKS:
        assert torch.equal(loaded.crfs[task].transitions, model.crfs[task].transitions)


def test_an_old_model_folder_without_a_head_field_loads_as_linear(model_dir, tmp_path):
    old = copy_model(model_dir, tmp_path / "old")
    meta = json.loads((old / "model.json").read_text())
    meta.pop("head", None)  # what every folder written before CRF heads looks like
    (old / "model.json").write_text(json.dumps(meta))
    model, _ = MultiTaskTagger.load(old)
    assert model.head == "linear" and len(model.crfs) == 0


def test_a_crf_folder_without_crf_pt_or_with_another_models_crfs_is_one_message(crf_model_dir, tmp_path):
    folder, _ = crf_model_dir
    missing = copy_model(folder, tmp_path / "missing")
    (missing / "crf.pt").unlink()
    with pytest.raises(UserError, match=r"crf\.pt is missing: model\.json says the heads are CRFs"):
        check_model_folder(missing)
    other = copy_model(folder, tmp_path / "other")
    torch.save({f"elsewhere.{p}": torch.zeros(3) for p in ("start", "end")}, other / "crf.pt")
    with pytest.raises(UserError, match="holds CRFs for elsewhere but"):
        check_model_folder(other)
    unknown = copy_model(folder, tmp_path / "unknown")
    meta = json.loads((unknown / "model.json").read_text())
    (unknown / "model.json").write_text(json.dumps(meta | {"head": "lstm"}))
    with pytest.raises(UserError, match="head 'lstm' is not one of linear, crf"):
        check_model_folder(unknown)


def test_crf_decoding_never_opens_a_sentence_with_i_where_the_linear_head_does(tokenizer):
    task = demo_task("gene_demo_a", tokenizer, "gene", max_length=128)
    windows = task.dev
    assert any(len(w.sentence_lengths) > 1 for w in windows), "the fixture must pack sentences"
    torch.manual_seed(0)
    model = MultiTaskTagger.create("packaged:minilm", {task.name: "gene"}, head="crf")
    _favour_i(model, task.name)
    crf_read = predict_windows(model, windows, tokenizer.pad_token_id, torch.device("cpu"), 4096, probabilities=True)
    linear = MultiTaskTagger(model.encoder, {task.name: "gene"})
    linear.heads.load_state_dict(model.heads.state_dict())
    linear_read = predict_windows(linear, windows, tokenizer.pad_token_id, torch.device("cpu"), 4096)
    for w, crf_r, lin_r in zip(windows, crf_read, linear_read):
        labels, probs = crf_r[task.name]
        assert len(labels) == len(w.word_ends) == len(probs)
        assert set(lin_r[task.name].labels) == {INSIDE}  # the emissions alone: I everywhere
        start = 0
        for n in w.sentence_lengths:  # every sentence of the packed window: B then I, one mention
            sentence = labels[start : start + n]
            assert sentence == [BEGIN] + [INSIDE] * (n - 1)
            assert iob_spans([LABELS[i] for i in sentence]) == [(0, n, "")]
            start += n
        assert all(0.0 < p <= 1.0 + 1e-6 for p in probs)


def test_crf_training_learns_and_its_loss_reaches_the_transitions_and_the_encoder(tokenizer, tmp_path):
    torch.manual_seed(0)
    task = demo_task("gene_demo_b", tokenizer, "gene")
    model = MultiTaskTagger.create("packaged:minilm", {task.name: "gene"}, head="crf")
    before_encoder = next(model.encoder.parameters()).detach().clone()
    cfg = TrainConfig(epochs=2, lr=2e-4, batch_size=8, max_tokens=512, progress=False, checkpoint=False, head="crf")
    result = train(model, tokenizer, [task], cfg, tmp_path / "work")
    losses = [h["train_loss"] for h in result.state.history]
    assert losses[1] < losses[0]
    assert model.crfs[task.name].transitions.abs().sum() > 0  # learnt from zeros
    assert not torch.equal(next(model.encoder.parameters()).detach(), before_encoder)
    test = result.tasks[task.name]["test"]
    assert test["entity"]["f1"] > 0.5, test


def test_the_head_is_part_of_the_checkpoint_fingerprint(tokenizer):
    task = demo_task("gene_demo_b", tokenizer, "gene", limit=4)
    linear = _fingerprint([task], TrainConfig(), "packaged:minilm")
    assert _fingerprint([task], TrainConfig(head="crf"), "packaged:minilm") != linear
    assert _fingerprint([task], TrainConfig(head="linear"), "packaged:minilm") == linear


def test_stl_from_a_crf_mtl_model_takes_its_encoder_and_starts_a_fresh_crf(crf_model_dir):
    folder, mtl = crf_model_dir
    stl = MultiTaskTagger.create(str(folder), {"c": "cell_line"}, head="crf")
    assert list(stl.crfs) == ["c"] and stl.crfs["c"].transitions.abs().sum() == 0
    mtl_state, stl_state = mtl.encoder.state_dict(), stl.encoder.state_dict()
    assert all(torch.equal(mtl_state[k], stl_state[k]) for k in mtl_state)


def test_storage_counts_the_crf_scores_with_each_head(crf_model_dir, model_dir):
    crf_folder, _ = crf_model_dir
    _, crf_heads, _ = _parameters(crf_folder)
    _, linear_heads, _ = _parameters(model_dir)
    states = 3  # O, B, I: start, end and a 3 x 3 transition matrix
    assert {t: crf_heads[t] - linear_heads[t] for t in TASKS} == {t: 2 * states + states**2 for t in TASKS}


def test_tag_with_a_crf_model_writes_entities_scored_by_marginals(crf_model_dir, tmp_path):
    folder, _ = crf_model_dir
    model = copy_model(folder, tmp_path / "model")
    state = torch.load(model / "heads.pt")
    for task in TASKS:  # emissions: I everywhere, so the CRF's constraints decide the spans
        state[f"{task}.weight"].zero_()
        state[f"{task}.bias"].copy_(torch.tensor([0.0, 1.0, 5.0, 0.0]))
    (model / "heads.pt").unlink()
    torch.save(state, model / "heads.pt")
    text = write(tmp_path / "in.txt", "Expression of p53 was measured. BRCA1 binds BARD1.\n")
    out = tmp_path / "out.jsonl"
    summary = tag_files(model, [text], out, fmt="jsonl")
    records = [json.loads(line) for line in out.read_text().splitlines()]
    assert summary["sentences"] == len(records) == 2
    for record in records:  # each sentence is one mention per head, from its first word to its last
        found = record["entities"]
        assert len(found) == len(TASKS)
        for entity in found:
            assert 0.0 < entity["score"] <= 1.0 + 1e-6
