"""Evaluation-only cross-corpus targets (config cross_corpus_targets) in the workflow: dry runs of
the jobs they add, and the config errors they give (the scoring itself: tests/unit/test_crosscorpus.py)."""

import json
import re
import shutil
import subprocess

import pytest
import yaml

from mtlner.cli import main

from tests.helpers import DEMO_CORPORA
from tests.helpers.workflow import job_counts, snakemake


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
    # an MTL job that scores the target names it to its leak warning (--target; its test split an input);
    # MTL without a type scores none, and STL jobs are not wrapped
    for line in commands:
        scores_it = "--kind mtl" in line and "--without" not in line
        assert ("--target gene_eval=results/corpora/gene_eval --" in line) == scores_it, line
        assert line.count("--target") == scores_it, line
    for block in (b for b in out.split("\n\n") if "leaks warn" in b and "--target gene_eval" in b):
        assert "results/corpora/gene_eval/test.tsv" in re.search(r"^\s+input: (.*)$", block, re.M).group(1)
    assert "results/figures/fig_cross_corpus_gene.png" in out and "fig_cross_corpus_species" not in out


def test_a_cut_target_is_prepared_with_max_documents_and_drop_leaks_reads_every_targets_test_split(tmp_path):
    config = _target_config(
        tmp_path, gene_eval={"entity": "gene"}, gene_cut={"entity": "gene", "max_documents": {"test": 5}}
    )
    shutil.copytree(tmp_path / "corpora" / "gene_eval", tmp_path / "corpora" / "gene_cut")
    out = _dry_run(tmp_path, {**config, "drop_leaks": True}).stdout
    counts = job_counts(out)
    assert counts["prepare_target"] == 2 and counts["drop_leaks"] == 1
    prepare = {
        re.search(r"--task (\S+)", line).group(1): line for line in out.splitlines() if " prepare --task gene_" in line
    }
    assert "--splits test --max-documents test=5 " in prepare["gene_cut"]
    assert "--max-documents" not in prepare["gene_eval"]  # no cut: no flag
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
