"""A deleted output is rebuilt by the default target: every file any job of a finished run
wrote (as `snakemake --summary` lists them), deleted, makes `snakemake` rerun the job that
wrote it. Snakemake 9 by itself reruns a job whose output is gone only when a target asks for
that file, so rule all names them all (common.smk kept_outputs)."""

import os

import pytest

from tests.helpers.workflow import job_counts, snakemake, tiny_config


@pytest.mark.slow
def test_every_deleted_output_is_rebuilt_by_the_default_target(tmp_path):
    config = tiny_config(tmp_path, ablation_levels=[0.0])
    snakemake(tmp_path, config=config)
    assert "Nothing to be done" in snakemake(tmp_path, "-n", config=config).stdout
    rows = [line.split("\t") for line in snakemake(tmp_path, "--summary", config=config).stdout.splitlines()]
    written = {}  # rule -> its files
    for row in rows[1:]:
        if len(row) > 2 and row[0].startswith("results/"):
            written.setdefault(row[2], []).append(row[0])
    assert {"prepare_corpus", "windows", "train_stl", "train_mtl_without", "train_stl_from_mtl", "collect"} <= set(
        written
    )
    kinds = {
        "metrics.json": "train_stl",
        "predictions/gene_demo_a.test.tsv": "train_stl",
        "without_gene/seed_1/model": "train_mtl_without",
        "ablation_0.0/seed_1/model": "train_mtl_saved",
        "gene_demo_a/train.pt": "windows",
        "summary/metrics.csv": "collect",
        "corpora/gene_demo_a/dev.tsv": "prepare_corpus",
        "leaks/gene_demo_a.json": "leak_audit",
    }
    # one file of every rule, and each kind the README names
    chosen = {files[0]: rule for rule, files in written.items()}
    for ending, rule in kinds.items():
        chosen.setdefault(next(f for f in written[rule] if f.endswith(ending)), rule)
    for name, rule in chosen.items():
        path, away = tmp_path / name, tmp_path / "away"
        os.rename(path, away)  # back below, with its time stamps
        try:
            counts = job_counts(snakemake(tmp_path, "-n", config=config).stdout)
        finally:
            os.rename(away, path)
        assert counts.get(rule, 0) >= 1, (name, counts)


@pytest.mark.parametrize("text", ['{"kind": "stl", "tasks": {', "[]", '{"kind": "stl"}', "\xff"], ids=str)
def test_a_damaged_metrics_file_is_one_message_saying_how_to_rebuild_it(tmp_path, text):
    from mtlner.errors import UserError
    from mtlner.report.results import collect_metrics

    path = tmp_path / "metrics.json"
    path.write_bytes(text.encode("latin-1"))
    with pytest.raises(UserError, match=rf"(?s)metrics file {path}[: ].*-> delete it and run snakemake again"):
        collect_metrics([path])
