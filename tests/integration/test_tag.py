"""`mtlner tag` end to end on a MiniLM MTL model trained here (1 epoch on the demo corpora)."""

import json

import pytest
import torch

from mtlner.cli import main
from mtlner.data.corpus import read_conll
from mtlner.errors import UserError
from mtlner.training.model import MultiTaskTagger
from mtlner.tag.pipeline import entities, tag_files
from mtlner.tag.text import read_text
from mtlner.training.loop import Task, TrainConfig, train
from mtlner.data.labels import LABEL_ID
from mtlner.data.windows import build_windows

from tests.helpers import DEMO_CORPORA, write

TASKS = {"gene_demo_a": "gene", "species_demo": "species"}
TEXT = (
    "Knockdown of GAPDH in T47D cells abolished the effect of tamoxifen. Mutations in BRCA1 were found in "
    "samples from Homo sapiens and Mus musculus.\n\nExpression of p53 was measured in Escherichia coli (strain K-12).\n"
)


@pytest.fixture(scope="module")
def mtl_model(tmp_path_factory, tokenizer):
    """A real pretrained MiniLM fine-tuned for one epoch on two demo tasks, saved like the workflow does."""
    tasks = []
    for name, entity in TASKS.items():
        splits = {
            s: build_windows(read_conll(DEMO_CORPORA / name / f"{s}.tsv")[0], tokenizer, 64)
            for s in ("train", "dev", "test")
        }
        tasks.append(Task(name, entity, splits["train"], splits["dev"][:4], splits["test"][:2]))
    torch.manual_seed(1)
    model = MultiTaskTagger.create("packaged:minilm", TASKS)
    cfg = TrainConfig(epochs=1, lr=5e-4, batch_size=4, max_tokens=512, progress=False, checkpoint=False, device="cpu")
    work = tmp_path_factory.mktemp("tag_model")
    train(model, tokenizer, tasks, cfg, work / ".work")
    model.save(work / "model", tokenizer, extra={"kind": "mtl", "seed": 1})
    return work / "model"


@pytest.fixture(scope="module")
def tagged(mtl_model, tmp_path_factory):
    folder = tmp_path_factory.mktemp("tagged")
    text = write(folder / "abstract.txt", TEXT)
    out = folder / "out.jsonl"
    summary = tag_files(mtl_model, [text], out, fmt="jsonl")
    return summary, [json.loads(line) for line in out.read_text().splitlines()]


def test_jsonl_has_every_sentence_and_offsets_round_trip(tagged):
    summary, records = tagged
    assert summary["sentences"] == len(records) == 3
    assert [r["sentence"] for r in records] == [0, 1, 2]
    found = [e for r in records for e in r["entities"]]
    assert found, "the trained model finds no entity at all"
    for r in records:
        assert TEXT[r["start"] : r["end"]] == r["text"]
        for e in r["entities"]:
            assert TEXT[e["start"] : e["end"]] == e["text"]
            assert r["start"] <= e["start"] < e["end"] <= r["end"]
            assert e["type"] == TASKS[e["task"]] and 0 < e["score"] <= 1
    assert {e["task"] for e in found} <= set(TASKS)


def test_the_gene_head_finds_a_gene_of_the_text(tagged):
    _, records = tagged
    genes = {e["text"] for r in records for e in r["entities"] if e["task"] == "gene_demo_a"}
    assert genes & {"GAPDH", "BRCA1", "p53"}


def test_conll_has_one_column_per_task_and_token_offsets(mtl_model, tmp_path):
    out = tmp_path / "out.conll"
    assert (
        main(
            [
                "tag",
                "--model",
                str(mtl_model),
                str(write(tmp_path / "a.txt", TEXT)),
                "-o",
                str(out),
                "--format",
                "conll",
            ]
        )
        == 0
    )
    lines = out.read_text().splitlines()
    assert lines[0] == "# token\tstart\tend\tgene_demo_a\tspecies_demo"
    assert lines[1] == f"-DOCSTART-\t{tmp_path / 'a.txt'}"
    rows = [line.split("\t") for line in lines[2:] if line]
    assert len(rows) == 12 + 14 + 13  # tokens of the three sentences
    for token, start, end, gene, species in rows:
        assert TEXT[int(start) : int(end)] == token
        assert gene in ("O", "B-gene", "I-gene") and species in ("O", "B-species", "I-species")


def test_bioc_annotations_point_into_the_passage(mtl_model, tmp_path):
    from bioc import biocxml

    out = tmp_path / "out.xml"
    tag_files(
        mtl_model, [write(tmp_path / "a.txt", TEXT), write(tmp_path / "b.txt", "p53 binds DNA.")], out, fmt="bioc"
    )
    collection = biocxml.loads(out.read_text())
    assert [d.id for d in collection.documents] == [str(tmp_path / "a.txt"), str(tmp_path / "b.txt")]
    passage = collection.documents[0].passages[0]
    assert passage.text == TEXT and passage.annotations
    for a in passage.annotations:
        loc = a.locations[0]
        assert passage.text[loc.offset : loc.offset + loc.length] == a.text
        assert a.infons["task"] in TASKS and a.infons["type"] == TASKS[a.infons["task"]]


def test_an_stl_model_folder_tags_with_its_one_head(mtl_model, tmp_path):
    model, tokenizer = MultiTaskTagger.load(mtl_model)
    stl = MultiTaskTagger(model.encoder, {"species_demo": "species"})
    stl.heads["species_demo"].load_state_dict(model.heads["species_demo"].state_dict())
    stl.save(tmp_path / "stl", tokenizer, extra={"kind": "stl"})
    out = tmp_path / "out.jsonl"
    tag_files(tmp_path / "stl", [write(tmp_path / "a.txt", TEXT)], out)
    records = [json.loads(line) for line in out.read_text().splitlines()]
    assert len(records) == 3
    assert {e["task"] for r in records for e in r["entities"]} <= {"species_demo"}


def test_entities_are_strict_iob2_with_mean_probability():
    B, I, O, S = LABEL_ID["B"], LABEL_ID["I"], LABEL_ID["O"], LABEL_ID["SPECIAL"]  # noqa: E741 (IOB tags)
    labels = [B, I, O, I, B, B, S, B]
    probs = [0.9, 0.7, 1.0, 0.5, 0.6, 0.8, 0.9, 0.4]
    assert entities(labels, probs) == [(0, 2, pytest.approx(0.8)), (4, 5, 0.6), (5, 6, 0.8), (7, 8, 0.4)]


# --------------------------------------------------------------------------- bad input


def test_empty_and_blank_files_give_no_sentences_not_a_crash(mtl_model, tmp_path):
    out = tmp_path / "out.jsonl"
    summary = tag_files(mtl_model, [write(tmp_path / "empty.txt", ""), write(tmp_path / "blank.txt", " \n\n\t\n")], out)
    assert summary["sentences"] == 0 and out.read_text() == ""


def test_binary_and_non_utf8_files_are_refused_and_leave_no_output(mtl_model, tmp_path, capsys):
    binary = tmp_path / "x.bin"
    binary.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00")
    latin = tmp_path / "latin.txt"
    latin.write_bytes("Effect of caf\u00e9ine.".encode("latin-1"))
    good = write(tmp_path / "good.txt", TEXT)
    out = tmp_path / "out.jsonl"
    with pytest.raises(UserError, match="looks binary"):
        read_text(binary)
    assert main(["tag", "--model", str(mtl_model), str(good), str(latin), "-o", str(out)]) == 2
    err = capsys.readouterr().err
    assert f"{latin} is not UTF-8 (byte 13" in err and "iconv" in err
    assert not out.exists() and not list(tmp_path.glob(".tmp-*"))


def test_a_model_folder_without_heads_is_named(mtl_model, tmp_path):
    import shutil

    broken = tmp_path / "model"
    shutil.copytree(mtl_model, broken)
    (broken / "heads.pt").unlink()
    with pytest.raises(UserError, match="heads.pt is missing"):
        tag_files(broken, [write(tmp_path / "a.txt", TEXT)], tmp_path / "out.jsonl")
    with pytest.raises(UserError, match="does not exist"):
        tag_files(tmp_path / "nowhere", [write(tmp_path / "a.txt", TEXT)], tmp_path / "out.jsonl")
    assert not (tmp_path / "out.jsonl").exists()


def test_very_long_tokens_are_tagged_o_and_keep_their_offsets(mtl_model, tmp_path, caplog):
    long_token = "-".join(["ab"] * 300)  # 899 characters (under --max-token-chars), 599 subwords: more than a window
    text = f"The gene BRCA1 and {long_token} were studied. Word " + "word " * 600 + "end."
    out = tmp_path / "out.jsonl"
    tag_files(mtl_model, [write(tmp_path / "long.txt", text)], out, max_length=64)
    records = [json.loads(line) for line in out.read_text().splitlines()]
    assert len(records) == 2
    assert (
        "long.txt: the token at characters 19-918 ('ab-ab-ab-ab-ab-ab-ab...', 899 characters) is longer than a window (599 subwords"
        in caplog.text
    )
    for r in records:
        assert text[r["start"] : r["end"]] == r["text"]
        for e in r["entities"]:
            assert text[e["start"] : e["end"]] == e["text"] and long_token not in e["text"]
