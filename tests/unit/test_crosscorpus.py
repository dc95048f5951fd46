"""Cross-corpus transfer (mtlner.report.crosscorpus): heads scored on other same-type tasks' test splits."""

import json
import math
from types import SimpleNamespace

import pytest
import torch

from mtlner.training.cross_test import Target, cross_test, evaluator, pairs

from mtlner.report.crosscorpus import cross_corpus_table, heat_map, write_cross_corpus
from mtlner.errors import UserError
from mtlner.training.loop import Task, TrainConfig
from mtlner.data.labels import LABEL_ID, LABELS, SPECIAL
from mtlner.data.windows import Window
from tests.helpers.metrics import with_head


GENE_B, GENE_I = 7, 8  # subword ids the toy model tags B and I; every other id is O


def window(*sentences: str, doc: int = 0) -> Window:
    """'tok/TAG tok/TAG' sentences -> one window, one subword per word; a word spelt like a
    tag's token class gets that class's id (gene*: GENE_B, *protein*/gene: GENE_I, else 5)."""
    words, tags, ids, lengths = [], [], [], []
    for sentence in sentences:
        pairs_ = [t.rsplit("/", 1) for t in sentence.split()]
        for word, tag in pairs_:
            words.append(word)
            tags.append(tag)
            ids.append(GENE_B if word.isupper() else GENE_I if word == "protein" else 5)
        lengths.append(len(pairs_))
    n = len(words)
    return Window(
        [101] + ids + [102],
        [SPECIAL] + [LABEL_ID[t] for t in tags] + [SPECIAL],
        list(range(1, n + 1)),
        lengths,
        words,
        doc,
    )


class ToyTagger(torch.nn.Module):
    """Tags subword GENE_B as B and GENE_I as I, whatever the head; records the heads asked for."""

    def __init__(self):
        super().__init__()
        self.weight = torch.nn.Parameter(torch.zeros(1))
        self.heads = []

    def forward(self, ids, mask, task):
        self.heads.append(task)
        logits = torch.zeros(*ids.shape, len(LABELS))
        logits[..., LABEL_ID["O"]] = 1.0
        logits[..., LABEL_ID["B"]] = (ids == GENE_B) * 2.0
        logits[..., LABEL_ID["I"]] = (ids == GENE_I) * 2.0
        return logits


def _task(name, entity):
    return Task(name, entity, [], [], [])


def _target(name, entity, windows):
    return Target(name, entity, windows, {}, None)


def test_a_head_is_scored_on_another_same_type_tasks_test_split_with_the_known_answer():
    # BRCA1, p53 protein: found exactly; "RAS gene": predicted RAS only (a boundary slip); "binds" right as O
    target = _target("gene_b", "gene", [window("BRCA1/B binds/O P53/B protein/I"), window("RAS/B gene/I")])
    model = ToyTagger()
    cfg = TrainConfig(device="cpu", progress=False)
    rows = cross_test(
        evaluator(model, SimpleNamespace(pad_token_id=0), cfg),
        [_task("gene_a", "gene"), _task("species_x", "species")],
        [target],
    )
    assert model.heads == ["gene_a"]  # the source's head; the species task has none of this type
    assert len(rows) == 1 and (rows[0]["source"], rows[0]["target"], rows[0]["test_windows"]) == ("gene_a", "gene_b", 2)
    entity, word = rows[0]["test"]["entity"], rows[0]["test"]["word"]
    assert (entity["tp"], entity["predicted"], entity["gold"]) == (2, 3, 3)
    assert entity["f1"] == pytest.approx(2 / 3)
    # the paper's word level: 5 gold words, 4 predicted (gene missed), all right
    assert (word["tp"], word["predicted"], word["gold"]) == (4, 4, 5)
    assert word["f1"] == pytest.approx(2 * 1.0 * 0.8 / 1.8)


def test_pairs_use_every_same_type_head_but_never_a_tasks_own():
    sources = [_task("a", "gene"), _task("b", "gene"), _task("s", "species")]
    targets = [_target("a", "gene", []), _target("b", "gene", [])]
    assert [(s.name, t.name) for s, t in pairs(sources, targets)] == [("b", "a"), ("a", "b")]
    with pytest.raises(UserError, match="is a chemical task"):
        pairs([_task("a", "gene")], [_target("c", "chemical", [])])


def _metrics(tmp_path, kind, tasks, cross, ablation=0.0, seed=1):
    """A metrics.json with entity and word F1 per task and cross_corpus rows (source, target, f1)."""
    folder = tmp_path / kind / "+".join(tasks) / f"a{ablation}" / f"s{seed}"
    folder.mkdir(parents=True)

    def scores(f1, gold=10):
        counts = {"precision": f1, "recall": f1, "f1": f1, "tp": round(f1 * gold), "predicted": gold, "gold": gold}
        return {level: dict(counts) for level in ("word", "word_strict", "entity")}

    data = {
        "kind": kind, "ablation": ablation, "seed": seed, "without": None,
        "tasks": {t: {"entity_type": "gene", "test": scores(f1)} for t, f1 in tasks.items()},
        "cross_corpus": [{"source": s, "target": t, "entity_type": "gene", "test_windows": 3, "test": scores(f1)} for s, t, f1 in cross],
    }  # fmt: skip
    (folder / "metrics.json").write_text(json.dumps(data))
    return folder / "metrics.json"


def test_table_has_the_drop_and_the_targets_own_score(tmp_path):
    paths = [
        _metrics(tmp_path, "stl", {"a": 0.8}, [("a", "b", 0.5)]),
        _metrics(tmp_path, "stl", {"b": 0.7}, [("b", "a", 0.6)]),
        _metrics(tmp_path, "mtl", {"a": 0.9, "b": 0.6}, [("b", "a", 0.4), ("a", "b", 0.3)]),
        _metrics(tmp_path, "stl", {"c": 0.5}, []),  # a task alone in its type: no rows
    ]
    table = cross_corpus_table(paths).set_index(["kind", "source"])
    assert len(table) == 4
    stl_ab = table.loc[("stl", "a")]
    assert (stl_ab["target"], stl_ab["f1"], stl_ab["in_corpus_f1"]) == ("b", 0.5, 0.8)
    assert stl_ab["drop"] == pytest.approx(0.3) and stl_ab["target_in_corpus_f1"] == 0.7  # b's own STL job
    mtl_ba = table.loc[("mtl", "b")]
    assert mtl_ba["drop"] == pytest.approx(0.2) and mtl_ba["target_in_corpus_f1"] == 0.9  # a's head in the same MTL job
    assert mtl_ba["word_drop"] == pytest.approx(0.2)
    assert list(cross_corpus_table(paths)["kind"]) == ["stl", "stl", "mtl", "mtl"]

    # a second ablation level: the heat map gets its curves panel; the table a row more
    halved = _metrics(tmp_path, "stl", {"a": 0.6}, [("a", "b", 0.3)], ablation=0.5)
    assert len(cross_corpus_table(paths + [halved])) == 5
    written = write_cross_corpus(paths + [halved], tmp_path / "tables", tmp_path / "figures", entities=["gene"])
    assert {p.name for p in written} == {
        "cross_corpus.csv",
        "cross_corpus.md",
        "fig_cross_corpus_gene.png",
        "fig_cross_corpus_gene.svg",
    }
    assert (tmp_path / "figures" / "fig_cross_corpus_gene.png").read_bytes()[:4] == b"\x89PNG"
    # no pairs at all (no type with two tasks): an empty table that says so
    write_cross_corpus(paths[3:], tmp_path / "empty", tmp_path / "empty")
    assert "(no rows)" in (tmp_path / "empty" / "cross_corpus.md").read_text()


def test_table_and_heat_map_give_an_evaluation_only_target_a_column_of_its_own(tmp_path):
    # "t" is no job's task (config cross_corpus_targets): scored by a's and b's heads, never trained
    paths = [
        _metrics(tmp_path, "stl", {"a": 0.8}, [("a", "b", 0.5), ("a", "t", 0.4)]),
        _metrics(tmp_path, "stl", {"b": 0.7}, [("b", "a", 0.6), ("b", "t", 0.2)]),
    ]
    table = cross_corpus_table(paths).set_index(["source", "target"])
    assert len(table) == 4
    at = table.loc[("a", "t")]
    assert bool(at["evaluation_only"]) and at["f1"] == 0.4 and at["drop"] == pytest.approx(0.4)
    assert math.isnan(at["target_in_corpus_f1"])  # no job trains on t
    assert not table.loc[("a", "b"), "evaluation_only"] and table.loc[("a", "b"), "target_in_corpus_f1"] == 0.7
    figure = heat_map(cross_corpus_table(paths), "gene")
    ax = figure.axes[0]
    assert [t.get_text() for t in ax.get_yticklabels()] == ["a", "b"]  # rows: the trained sources only
    assert [t.get_text() for t in ax.get_xticklabels()] == ["a", "b", "t (test only)"]
    grid = ax.images[0].get_array()
    assert grid.shape == (2, 3) and grid[0, 2] == pytest.approx(0.4) and grid[1, 2] == pytest.approx(0.2)
    assert grid[0, 0] == pytest.approx(0.8) and grid[1, 1] == pytest.approx(0.7)  # in-corpus on the diagonal
    # the demo's case: one task of the type and a target; a panel per kind, one row each
    alone = [_metrics(tmp_path / "alone", k, {"a": 0.9}, [("a", "t", f1)]) for k, f1 in (("stl", 0.3), ("mtl", 0.5))]
    figure = heat_map(cross_corpus_table(alone), "gene")
    stl, mtl = figure.axes[0].images[0].get_array(), figure.axes[1].images[0].get_array()
    assert stl.shape == mtl.shape == (1, 2) and (stl[0, 1], mtl[0, 1]) == (pytest.approx(0.3), pytest.approx(0.5))
    assert [t.get_text() for t in figure.axes[1].get_xticklabels()] == ["a", "t (test only)"]
    written = write_cross_corpus(paths, tmp_path / "tables", tmp_path / "figures", entities=["gene"])
    assert "evaluation_only" in (tmp_path / "tables" / "cross_corpus.csv").read_text().splitlines()[0]
    assert len(written) == 4


def test_cross_corpus_gives_crf_jobs_kinds_of_their_own_and_leaves_the_linear_rows(tmp_path):
    paths = [
        _metrics(tmp_path, "stl", {"a": 0.8}, [("a", "b", 0.5)]),
        _metrics(tmp_path, "stl", {"b": 0.7}, [("b", "a", 0.6)]),
    ]
    # the CRF twin of the first job: same key, other scores; it would replace b's own in-corpus F1 too
    crf = with_head(_metrics(tmp_path / "c", "stl", {"b": 0.1}, [("b", "a", 0.05)]), "crf")
    linear = cross_corpus_table(paths)
    both = cross_corpus_table(paths + [crf])
    assert both[both["kind"] == "stl"].reset_index(drop=True).equals(linear)
    assert linear.set_index("source").loc["a", "target_in_corpus_f1"] == 0.7
    crf_rows = both[both["kind"] == "stl_crf"]
    assert list(crf_rows["source"]) == ["b"] and list(crf_rows["f1"]) == [0.05]
    assert crf_rows["target_in_corpus_f1"].isna().all()  # no CRF job trained on a
