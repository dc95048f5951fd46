"""drop_leaks and the leak audit in the workflow: the corpus stage of a tiny run (no training)."""

import json
import shutil

import pandas as pd
import pytest

from tests.helpers import DEMO_CORPORA, write
from tests.helpers.leaks import doc as _doc
from tests.helpers.workflow import snakemake, tiny_config


@pytest.mark.slow
def test_drop_leaks_in_the_workflow_cleans_training_before_any_window(tmp_path):
    config = tiny_config(tmp_path, drop_leaks=True)
    snakemake(tmp_path, "results/tables/leak_audit.csv", config=config)  # the corpus stage only, no training
    results = tmp_path / "results"
    stats = json.loads((results / "corpora/gene_demo_a/stats.json").read_text())
    assert stats["drop_leaks"]["by_eval_split"] == {"species_demo/dev": 1}  # the sentence the synthetic corpora share
    before = json.loads((results / "corpora/gene_demo_a/before_drop_leaks/stats.json").read_text())
    assert stats["splits"]["train"]["sentences"] == before["splits"]["train"]["sentences"] - 1
    audit = pd.read_csv(results / "tables/leak_audit.csv").set_index(["task_a", "split_a", "task_b", "split_b"])
    row = audit.loc[("gene_demo_a", "train", "species_demo", "dev")]
    assert row["shared_sentences"] == 0 and row["dropped_from_a"] == 1
    assert json.loads((results / "leaks/species_demo.json").read_text())["overlaps"] == []


@pytest.mark.slow
def test_the_workflows_leak_audit_reads_a_cut_target_and_reports_its_overlap(tmp_path):
    corpora = tmp_path / "corpora"
    for task in ("gene_demo_a", "species_demo"):
        shutil.copytree(DEMO_CORPORA / task, corpora / task)
    first = (DEMO_CORPORA / "gene_demo_a" / "train.tsv").read_text().split("\n\n")[1]  # its first sentence
    write(corpora / "gene_eval" / "test.tsv", f"-DOCSTART-\te1\tO\n\n{first}\n\n" + _doc("e2", "Zeta/B-gene ./O"))
    config = tiny_config(
        tmp_path,
        corpora_dir=str(corpora),
        cross_corpus_targets={"gene_eval": {"entity": "gene", "max_documents": {"test": 1}}},
    )
    snakemake(tmp_path, "results/tables/leak_audit.csv", config=config)  # the corpus stage only, no training
    results = tmp_path / "results"
    stats = json.loads((results / "corpora/gene_eval/stats.json").read_text())
    assert stats["splits"]["test"]["documents"] == 1 and stats["documents_before_limit"] == {"test": 2}
    frame = pd.read_csv(results / "tables/leak_audit.csv").set_index(["task_a", "split_a", "task_b", "split_b"])
    row = frame.loc[("gene_demo_a", "train", "gene_eval", "test")]
    assert row["scope"] == "evaluation-only target" and row["shared_sentences"] == 1 and row["share_b"] == 1.0
    overlaps = json.loads((results / "leaks/gene_eval.json").read_text())["overlaps"]
    assert [(o["task_a"], o["split_a"]) for o in overlaps] == [("gene_demo_a", "train")]
