"""Cross-corpus transfer (mtlner.crosscorpus): heads scored on other same-type tasks' test splits."""

import json
import math
import re
import shutil
import subprocess
from types import SimpleNamespace

import pytest
import torch
import yaml

from mtlner.cli import main
from mtlner.crosscorpus import Target, cross_corpus_table, cross_test, evaluator, heat_map, pairs, write_cross_corpus
from mtlner.errors import UserError
from mtlner.train import Task, TrainConfig
from mtlner.windows import LABEL_ID, LABELS, SPECIAL, Window

from tests.helpers import DEMO_CORPORA
from tests.helpers.workflow import job_counts, snakemake

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


def _windows(tmp_path, task):
    out = tmp_path / "windows" / task
    args = ["windows", "--corpus-dir", str(DEMO_CORPORA / task), "--encoder", "packaged:minilm", "--max-length", "64"]
    assert main(args + ["--out-dir", str(out)]) == 0
    return out


def test_train_cross_tests_an_mtl_jobs_heads_after_its_test_pass(tmp_path, capsys):
    a, b = _windows(tmp_path, "gene_demo_a"), _windows(tmp_path, "gene_demo_b")
    species = _windows(tmp_path, "species_demo")
    out = tmp_path / "job"
    common = ["train", "--init", "packaged:minilm", "--out-dir", str(out), "--max-steps", "2", "--max-tokens", "512"]
    common += ["--no-progress", "--no-checkpoint"]
    # a target of another type is refused before any training
    code = main(common + ["--task", f"gene_demo_a=gene={a}", "--cross-test", f"species_demo=species={species}"])
    assert code == 2 and "is a species task" in capsys.readouterr().err and not (out / "metrics.json").exists()

    # MTL on both gene tasks, each task cross-tested, plus a copy of gene_demo_a's test split under another name
    tasks = ["--task", f"gene_demo_a=Gene={a}", "--task", f"gene_demo_b=gene={b}", "--kind", "mtl"]
    cross = [
        "--cross-test",
        f"gene_demo_a=gene={a}",
        "--cross-test",
        f"gene_demo_b=gene={b / 'test.pt'}",
        "--cross-test",
        f"copy_of_a=gene={a}",
    ]
    assert main(common + tasks + cross) == 0
    metrics = json.loads((out / "metrics.json").read_text())
    rows = {(r["source"], r["target"]): r for r in metrics["cross_corpus"]}
    assert set(rows) == {
        ("gene_demo_b", "gene_demo_a"),
        ("gene_demo_a", "gene_demo_b"),
        ("gene_demo_a", "copy_of_a"),
        ("gene_demo_b", "copy_of_a"),
    }
    # the known answer: a head on its own task's test windows under another name scores what the test pass scored
    assert rows[("gene_demo_a", "copy_of_a")]["test"] == metrics["tasks"]["gene_demo_a"]["test"]
    assert rows[("gene_demo_b", "copy_of_a")]["test"] == rows[("gene_demo_b", "gene_demo_a")]["test"]
    assert rows[("gene_demo_a", "gene_demo_b")]["test_windows"] > 0


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


def _dry_run(tmp_path, config: dict, check: bool = True) -> subprocess.CompletedProcess:
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump(config))
    return snakemake(tmp_path / "work", "-n", "-p", config=path, check=check, quiet=False)


def _target_config(tmp_path, **targets) -> dict:
    """Two trained tasks (gene, species) and an evaluation-only gene corpus holding test.tsv only."""
    corpora = tmp_path / "corpora"
    for task in ("gene_demo_a", "species_demo"):
        shutil.copytree(DEMO_CORPORA / task, corpora / task)
    (corpora / "gene_eval").mkdir()
    shutil.copy(DEMO_CORPORA / "gene_demo_b" / "test.tsv", corpora / "gene_eval" / "test.tsv")
    config = {
        "encoder": "packaged:minilm", "encoder_id": "minilm", "max_length": 64, "corpora_dir": str(corpora),
        "ablation_levels": [0.0, 0.5], "seeds": [1], "baseline": {"enabled": True},
        "training": {"epochs": 1, "progress": False, "checkpoint": False},
        "tasks": {"gene_demo_a": {"entity": "gene"}, "species_demo": {"entity": "species"}},
    }  # fmt: skip
    if targets:
        config["cross_corpus_targets"] = targets
    return config


TRAINING_RULES = (
    "train_stl",
    "train_mtl",
    "train_mtl_saved",
    "train_mtl_without",
    "train_stl_from_mtl",
    "train_baseline",
)


def test_an_evaluation_only_target_adds_prepare_and_windows_jobs_and_cross_tests_but_no_training(tmp_path):
    before = job_counts(_dry_run(tmp_path, _target_config(tmp_path)).stdout)
    shutil.rmtree(tmp_path / "corpora")
    out = _dry_run(tmp_path, _target_config(tmp_path, gene_eval={"entity": "Gene", "dataset": "GeneEval"})).stdout
    after = job_counts(out)
    assert {r: after.get(r, 0) for r in TRAINING_RULES} == {r: before.get(r, 0) for r in TRAINING_RULES}
    assert after["prepare_target"] == 1 and after["windows_target"] == 2  # the paper recipe's cache and the baseline's
    assert after["prepare_corpus"] == before["prepare_corpus"] and after["windows"] == before["windows"]
    assert after["total"] == before["total"] + 3
    assert "prepare_target" not in before and "--splits test" in out
    commands = [line for line in out.splitlines() if " train --kind " in line]
    assert len(commands) == sum(after.get(r, 0) for r in TRAINING_RULES)
    # the target's test windows are a declared input of every job that reads them (else the job may start first)
    for block in out.split("\n\n"):
        inputs = re.search(r"^\s+input: (.*)$", block, re.M)
        for path in re.findall(r"--cross-test \S+?=\S+?=(\S+)", block):
            assert inputs and path in inputs.group(1).split(", "), block[:300]
    for line in commands:
        tested = re.findall(r"--cross-test (\S+?)=(\S+?)=(\S+)", line)
        tasks = [t for t, _ in re.findall(r"--task (\S+?)=(\S+?)=", line)]
        key = re.search(r"--task \S+?=\S+?=results/windows/([^/]+)/", line).group(1)
        # every job with a gene head tags the target, in its own window cache, as it tags same-type tasks;
        # species-only jobs do not, nor MTL without a type (no job cross-tests there: it only seeds STL from MTL)
        gene_head = "gene_demo_a" in tasks and not ("--kind mtl" in line and "--without" in line)
        expected = [("gene_eval", "gene", f"results/windows/{key}/gene_eval/test.pt")] if gene_head else []
        assert tested == expected, line
        assert "gene_eval" not in tasks
    # not a task: Table 1 (rule tables) reads the trained tasks' corpora only; the leak audit reads the
    # target's test split too (against every task's train and dev splits) and writes its JSON
    tables = out.split("rule tables:")[1].split("output:")[0]
    assert "results/corpora/gene_demo_a/stats.json" in tables and "gene_eval" not in tables
    leak_audit = out.split("rule leak_audit:")[1].split("\n\n")[0]
    assert "results/corpora/gene_eval/test.tsv" in leak_audit.split("output:")[0]
    assert "results/leaks/gene_eval.json" in leak_audit.split("output:")[1]
    assert "--target gene_eval=results/corpora/gene_eval " in leak_audit
    # the MTL jobs' leak warnings find the target in their --cross-test arguments: their prefix names none
    assert all("--target" not in line for line in commands), commands
    assert "results/figures/fig_cross_corpus_gene.png" in out and "fig_cross_corpus_species" not in out


def test_a_cut_target_has_its_own_prepare_rule_and_drop_leaks_reads_every_targets_test_split(tmp_path):
    config = _target_config(
        tmp_path, gene_eval={"entity": "gene"}, gene_cut={"entity": "gene", "max_documents": {"test": 5}}
    )
    shutil.copytree(tmp_path / "corpora" / "gene_eval", tmp_path / "corpora" / "gene_cut")
    out = _dry_run(tmp_path, {**config, "drop_leaks": True}).stdout
    counts = job_counts(out)
    assert counts["prepare_target"] == 1 and counts["prepare_target_cut"] == 1 and counts["drop_leaks"] == 1
    prepare = {
        re.search(r"--task (\S+)", line).group(1): line for line in out.splitlines() if " prepare --task gene_" in line
    }
    assert "--splits test --max-documents test=5 " in prepare["gene_cut"]
    assert "--max-documents" not in prepare["gene_eval"]  # prepare_target's command as before
    drop = out.split("rule drop_leaks:")[1].split("\n\n")[0]
    for name in ("gene_eval", "gene_cut"):
        assert f"results/corpora/{name}/test.tsv" in drop.split("output:")[0]
        assert f"--target {name}=results/corpora/{name}" in drop


@pytest.mark.parametrize(
    "targets, message",
    [
        ({"gene_eval": {"entity": "chemical"}}, "no task has that type"),
        ({"gene_eval": {"entity": "gene", "max_documents": {"train": 5}}}, "max_documents"),
        ({"gene_demo_a": {"entity": "gene"}}, "has the name of a task"),
        ({"gene_eval": {"dataset": "X"}}, "entity"),
    ],
)
def test_a_wrong_evaluation_only_target_is_a_config_error(tmp_path, targets, message):
    proc = _dry_run(tmp_path, _target_config(tmp_path, **targets), check=False)
    assert proc.returncode != 0 and message in proc.stdout + proc.stderr


def test_an_evaluation_only_target_without_its_test_file_names_the_file(tmp_path, capsys):
    config = _target_config(tmp_path, gene_eval={"entity": "gene"})
    (tmp_path / "corpora" / "gene_eval" / "test.tsv").unlink()
    proc = _dry_run(tmp_path, config, check=False)
    assert proc.returncode != 0 and "gene_eval/test.tsv" in proc.stdout + proc.stderr
    # the CLI, run by hand on a folder without it, names it too
    folder = tmp_path / "corpora" / "gene_eval"
    prepare = ["prepare", "--task", "gene_eval", "--entity", "gene", "--input-dir", str(folder), "--splits", "test"]
    assert main(prepare + ["--out-dir", str(tmp_path / "out")]) == 2
    assert "gene_eval/test.tsv does not exist" in capsys.readouterr().err
    (folder / "test.tsv").write_text("BRCA1\tB-Gene\n")  # test only: train.tsv and dev.tsv are never read
    assert main(prepare + ["--out-dir", str(tmp_path / "out")]) == 0
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["stats.json", "test.tsv"]
    assert list(json.loads((tmp_path / "out" / "stats.json").read_text())["splits"]) == ["test"]
