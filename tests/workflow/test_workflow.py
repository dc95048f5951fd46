"""The Snakemake workflow itself: dry runs of the paper grid, a tiny real run, reruns."""

import json
import os
import re
import shlex
import shutil
import subprocess
import sys

import pytest
import yaml

from tests.helpers import DEMO_CORPORA, ROOT
from tests.helpers.workflow import job_counts, snakemake, tiny_config


def test_dry_run_of_the_paper_grid_lists_every_job(tmp_path):
    proc = snakemake(tmp_path, "-n", config=ROOT / "config.yaml")
    counts = job_counts(proc.stdout)
    paper = yaml.safe_load((ROOT / "config.yaml").read_text())
    tasks = paper["tasks"]
    assert len(tasks) == 22
    assert counts["train_stl"] == 22 * 5
    assert counts["train_mtl"] + counts["train_mtl_saved"] == 5
    assert counts["train_mtl_saved"] == 1  # the MTL model with no data removed is kept (save_models.mtl)
    assert counts["train_mtl_without"] == 4
    per_entity = {}
    for spec in tasks.values():
        per_entity[spec["entity"]] = per_entity.get(spec["entity"], 0) + 1
    assert per_entity == {"cell_line": 3, "chemical": 5, "gene": 10, "species": 4}
    assert counts["train_stl_from_mtl"] == 22 * 5  # every task, fine-tuned from the MTL without its type
    assert counts["windows"] == 22 and counts["prepare_corpus"] == 22


def test_default_config_is_the_paper_grid_and_configfile_replaces_it(tmp_path):
    config = yaml.safe_load((ROOT / "config" / "demo.yaml").read_text())
    # run in another folder: the demo's paths are relative to config/ (README, Configuration)
    demo = snakemake(tmp_path, "-n", config=ROOT / "config" / "demo.yaml")
    counts = job_counts(demo.stdout)
    # the demo's own tasks only, not merged with the paper's 22
    assert counts["train_stl"] == len(config["tasks"]) * len(config["ablation_levels"]) * len(config["seeds"])
    assert len(config["tasks"]) < 22


@pytest.mark.parametrize(
    "override, message",
    [
        ({"ablation_levels": [0.0, 1.0]}, "ablation_levels"),
        ({"training": {"epochs": 0}}, "epochs"),
        ({"trainig": {}}, "trainig"),
        ({"tasks": {"x": {"entity": "gene", "source": "ftp"}}}, "source"),
    ],
)
def test_config_errors_name_the_key(tmp_path, override, message):
    proc = snakemake(tmp_path, "-n", config=tiny_config(tmp_path, **override), check=False)
    assert proc.returncode != 0
    err = proc.stdout + proc.stderr
    assert message in err
    assert "Traceback" not in err


def test_missing_corpus_folder_is_named(tmp_path):
    config = tiny_config(tmp_path, corpora_dir="nowhere")
    proc = snakemake(tmp_path, "-n", config=config, check=False)
    assert proc.returncode != 0
    err = proc.stdout + proc.stderr
    assert f"config key corpora_dir: 'nowhere' (set in {config}, relative to its folder)" in err
    assert f"is {tmp_path / 'nowhere'}, and that folder does not exist" in err and "Traceback" not in err
    # the folder exists but holds no such task: the missing file is named
    (tmp_path / "empty").mkdir()
    proc = snakemake(tmp_path, "-n", config=tiny_config(tmp_path, corpora_dir="empty"), check=False)
    assert proc.returncode != 0
    assert "empty/gene_demo_a/train.tsv" in proc.stdout + proc.stderr  # inside the run folder: relative


def _commands(output: str) -> list[str]:
    return [line for line in output.splitlines() if " -m mtlner." in line]


def _command(output: str, subcommand: str) -> str:
    (line,) = [c for c in _commands(output) if f" -m mtlner.cli {subcommand} " in c][:1]
    return line


def test_config_paths_are_relative_to_the_config_file_outside_the_repo_and_with_spaces(tmp_path):
    configs, run = tmp_path / "my configs", tmp_path / "run dir"
    shutil.copytree(DEMO_CORPORA, configs / "my corpora")
    config = tiny_config(tmp_path, corpora_dir="my corpora")
    del_paper = yaml.safe_load(config.read_text())
    del del_paper["paper_dir"]  # the default: resources/paper of the checkout
    (configs / "config.yaml").write_text(yaml.safe_dump(del_paper))
    out = snakemake(run, "-n", "-p", "-F", config=configs / "config.yaml", quiet=False).stdout
    corpus = shlex.quote(str(configs / "my corpora" / "gene_demo_a"))
    assert f" --input-dir {corpus} " in _command(out, "prepare --task gene_demo_a")
    assert f" --paper-dir {shlex.quote(str(ROOT / 'resources' / 'paper'))} " in _command(out, "tables")
    assert f" --grid-config {shlex.quote(str(ROOT / 'config.yaml'))} " in _command(out, "cost")
    # --config values are relative to the working directory (the --directory folder)
    shutil.copytree(DEMO_CORPORA, run / "corpora")
    out = snakemake(
        run, "-n", "-p", "-F", "--config", "corpora_dir=corpora", config=configs / "config.yaml", quiet=False
    )
    assert " --input-dir corpora/gene_demo_a " in _command(out.stdout, "prepare --task gene_demo_a")


def test_the_default_config_from_another_folder_reads_the_checkouts_paper_tables(tmp_path):
    # config.yaml's paper_dir (resources/paper) is relative to config.yaml, not to the run folder
    out = snakemake(tmp_path, "-n", "-p", "tables", quiet=False).stdout
    assert f" --paper-dir {ROOT / 'resources' / 'paper'} " in _command(out, "tables")


def test_a_missing_paper_dir_is_named_at_load(tmp_path):
    config = tiny_config(tmp_path, paper_dir="../no paper")
    proc = snakemake(tmp_path / "run", "-n", config=config, check=False)
    err = proc.stdout + proc.stderr
    assert proc.returncode != 0 and "Traceback" not in err
    assert f"config key paper_dir: '../no paper' (set in {config}, relative to its folder)" in err
    assert str(tmp_path.parent / "no paper") in err


def test_a_python_whose_path_holds_a_space_is_quoted_in_every_command(tmp_path):
    """A venv in a folder with a space: every job command starts with the quoted interpreter."""
    venv = tmp_path / "my venv"
    (venv / "bin").mkdir(parents=True)
    (venv / "bin" / "python").symlink_to(sys.executable)
    # the same packages through PYTHONPATH (this venv has none of its own)
    site = [p for p in sys.path if p.endswith("site-packages")]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT / "src"), *site])}
    cmd = [str(venv / "bin" / "python"), "-m", "snakemake", "-n", "-p", "-F", "-s", str(ROOT / "Snakefile")]
    cmd += ["-d", str(tmp_path / "run"), "--cores", "2", "--configfile", str(tiny_config(tmp_path))]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=600, env=env)
    assert proc.returncode == 0, proc.stderr[-3000:]
    commands = _commands(proc.stdout)
    assert len(commands) > 10
    quoted = shlex.quote(str(venv / "bin" / "python"))
    assert quoted != str(venv / "bin" / "python")
    for line in commands:
        assert line.split("Shell command: ")[-1].strip().startswith(f"{quoted} -m mtlner."), line


@pytest.mark.slow
def test_tiny_workflow_runs_reruns_one_target_and_redraws_figures(tmp_path):
    config = tiny_config(tmp_path, baseline={"enabled": True})
    snakemake(tmp_path, config=config)
    results = tmp_path / "results"
    # the standard recipe beside the paper's: its own sentence windows, first-subword loss
    baseline = json.loads((results / "baseline/gene_demo_a/ablation_0.0/seed_1/metrics.json").read_text())
    assert baseline["kind"] == "baseline" and baseline["config"]["label_subwords"] == "first"
    assert baseline["config"]["scheduler"] == "linear" and baseline["epochs"] == 1
    # batches of 16 sentences are not split by the paper recipe's 512-subword budget
    assert baseline["config"]["batch_size"] == 16 and baseline["config"]["max_tokens"] == 16 * 64
    caches = {
        json.loads(p.read_text())["windowing"]: p.parent.parent.name
        for p in results.glob("windows/*/gene_demo_a/stats.json")
    }
    assert set(caches) == {"pack", "sentence"} and caches["pack"] != caches["sentence"]
    recipes = (results / "tables" / "recipes.csv").read_text().splitlines()
    assert "entity_stl" in recipes[0] and "entity_standard" in recipes[0] and len(recipes) == 3
    for name in ("table2_stl", "table3_mtl", "table6_entity_ablation", "class_averages", "correlations"):
        assert (results / "tables" / f"{name}.csv").stat().st_size > 0
        assert (results / "tables" / f"{name}.md").read_text().startswith("# ")
    figures = [
        "fig4_f1_vs_size",
        "fig5_entity_ablation",
        "fig6_stl_from_mtl",
        "fig_data_ablation",
        "fig_unseen_data_ablation",
    ]
    for name in figures + [f"fig_boundary_errors_{kind}" for kind in ("stl", "mtl", "stl_from_mtl")]:
        assert (results / "figures" / f"{name}.png").read_bytes()[:4] == b"\x89PNG"
        assert b"<svg" in (results / "figures" / f"{name}.svg").read_bytes()[:2000]
    # what the scores hide: seen/unseen test mentions and boundary errors of every job, the leak audit
    for name in ("seen_unseen", "boundary_errors", "leak_audit", "cross_corpus"):
        assert (results / "tables" / f"{name}.md").read_text().startswith("# ")
    assert "(no rows)" in (results / "tables" / "cross_corpus.md").read_text()  # no entity type has two tasks here
    assert json.loads((results / "stl/gene_demo_a/ablation_0.0/seed_1/metrics.json").read_text())["cross_corpus"] == []
    seen = (results / "tables" / "seen_unseen.csv").read_text().splitlines()
    assert "f1_unseen" in seen[0] and len(seen) == 1 + 3 * 2 * 2  # STL, MTL, STL-from-MTL: 2 tasks x 2 levels each
    leaks = (results / "tables" / "leak_audit.csv").read_text()
    assert "gene_demo_a,train,species_demo,dev,between tasks,1," in leaks  # a sentence the synthetic corpora share
    assert "leak in this job's tasks" in (results / "logs/mtl/all/ablation_0.0/seed_1.log").read_text()
    stage2 = json.loads(
        (results / "stl_from_mtl/without_gene/gene_demo_a/ablation_0.5/seed_1/metrics.json").read_text()
    )
    assert stage2["init"] == "results/mtl/without_gene/seed_1/model"
    assert stage2["tasks"]["gene_demo_a"]["train_windows"] < stage2["tasks"]["gene_demo_a"]["train_windows_total"]
    mtl = json.loads((results / "mtl/without_gene/seed_1/metrics.json").read_text())
    assert list(mtl["tasks"]) == ["species_demo"]
    assert not list(results.rglob(".tmp-*")) and not list(results.rglob(".work"))

    metrics = sorted(results.rglob("metrics.json"))
    before = {p: p.stat().st_mtime_ns for p in metrics}
    # local run: jobs forked from the warm process (those before it was ready ran on their own),
    # which was stopped with the workflow
    assert "fork-server" in {json.loads(p.read_text())["launch"] for p in metrics}
    server_log = (results / "logs" / "fork_server.log").read_text()
    assert "mtlner train --kind stl" in server_log and server_log.rstrip().endswith("stopped")

    # regenerate figures and tables only: they are rewritten, no training job reruns
    figure = results / "figures" / "fig4_f1_vs_size.png"
    table = results / "tables" / "table2_stl.csv"
    drawn = figure.stat().st_mtime_ns, table.stat().st_mtime_ns
    snakemake(tmp_path, "-R", "figures", "tables", config=config)
    assert figure.stat().st_mtime_ns > drawn[0] and table.stat().st_mtime_ns > drawn[1]
    assert {p: p.stat().st_mtime_ns for p in metrics} == before

    # rerun one ablation target
    target = results / "stl/species_demo/ablation_0.5/seed_1/metrics.json"
    snakemake(
        tmp_path,
        str(target.relative_to(tmp_path)),
        "--forcerun",
        "train_stl",
        "--config",
        "fork_server=False",
        config=config,
    )
    after = {p: p.stat().st_mtime_ns for p in metrics}
    changed = [p for p in metrics if after[p] != before[p]]
    assert changed == [target]
    assert json.loads(target.read_text())["launch"] == "process"  # fork_server: false

    # every result follows the config: a new max_length or encoder builds new windows and
    # retrains everything that reads them (the old cache stays, under its own key)
    for override in ("max_length=32", "encoder=packaged:minilm-renamed"):
        dry = snakemake(tmp_path, "-n", "--config", override, config=config)
        counts = job_counts(dry.stdout)
        assert counts["windows"] == 4, (override, counts)  # both recipes' caches, two tasks
        assert counts["train_stl"] == 4 and counts["train_mtl"] + counts.get("train_mtl_saved", 0) == 2
    # training settings are params: changing one reruns training, not the windows
    two_epochs = yaml.safe_load(config.read_text())
    two_epochs["training"]["epochs"] = 2
    (tmp_path / "two_epochs.yaml").write_text(yaml.safe_dump(two_epochs))
    counts = job_counts(snakemake(tmp_path, "-n", config=tmp_path / "two_epochs.yaml").stdout)
    assert "windows" not in counts and counts["train_stl"] == 4

    # a deleted predictions file is rebuilt by the job that wrote it, nothing else
    lost = results / "stl/gene_demo_a/ablation_0.0/seed_1/predictions/gene_demo_a.test.tsv"
    lost.unlink()
    counts = job_counts(snakemake(tmp_path, "-n", config=config).stdout)
    assert counts["train_stl"] == 1 and "train_mtl" not in counts and "windows" not in counts
    snakemake(tmp_path, config=config)
    assert lost.is_file()


def test_config_override_without_configfile_keeps_the_default_config(tmp_path):
    proc = snakemake(tmp_path, "-n", "--config", "threads=2")
    assert job_counts(proc.stdout)["train_stl"] == 22 * 5


def test_entity_types_differing_in_case_are_one_type(tmp_path):
    tasks = {
        "gene_demo_a": {"entity": "Gene", "dataset": "DemoGeneA"},
        "gene_demo_b": {"entity": "gene", "dataset": "DemoGeneB"},
        "species_demo": {"entity": "species", "dataset": "DemoSpecies"},
    }
    proc = snakemake(tmp_path, "-n", config=tiny_config(tmp_path, tasks=tasks))
    counts = job_counts(proc.stdout)
    assert counts["train_mtl_without"] == 2  # gene and species, not Gene, gene and species
    assert counts["train_stl_from_mtl"] == 3 * 2  # three tasks x two ablation levels
    assert "are treated as one type 'gene'" in proc.stderr


def test_entity_ablation_can_name_the_types_to_leave_out(tmp_path):
    tasks = {
        "gene_demo_a": {"entity": "gene", "dataset": "DemoGeneA"},
        "species_demo": {"entity": "species", "dataset": "DemoSpecies"},
        "chemical_demo": {"entity": "chemical", "dataset": "DemoChem"},
    }
    counts = job_counts(
        snakemake(tmp_path, "-n", config=tiny_config(tmp_path, tasks=tasks, entity_ablation=["Species"])).stdout
    )
    assert counts["train_mtl_without"] == 1 and counts["train_stl_from_mtl"] == 2  # species_demo at two levels
    proc = snakemake(
        tmp_path, "-n", config=tiny_config(tmp_path, tasks=tasks, entity_ablation=["disease"]), check=False
    )
    assert proc.returncode != 0 and "entity_ablation names ['disease'], which no task has" in proc.stdout + proc.stderr


GENE_PAIR = {
    "gene_demo_a": {"entity": "gene", "dataset": "DemoGeneA"},
    "gene_demo_b": {"entity": "Gene", "dataset": "DemoGeneB"},
}


def test_jobs_cross_test_the_other_tasks_of_their_entity_type_only(tmp_path):
    config = tiny_config(
        tmp_path,
        tasks=GENE_PAIR | {"species_demo": {"entity": "species", "dataset": "DemoSpecies"}},
        baseline={"enabled": True},
    )
    out = snakemake(tmp_path, "-n", "-p", config=config, quiet=False).stdout
    commands = [line for line in out.splitlines() if " train --kind " in line]
    assert (
        len(commands) == job_counts(out)["train_stl"] + 2 + 2 + 6 + 3
    )  # STL, MTL, MTL without, STL from MTL, baseline
    for line in commands:
        tested = re.findall(r"--cross-test (\S+?)=(\S+?)=(\S+)", line)
        tasks = re.findall(r"--task (\S+?)=", line)
        if "--kind mtl" in line:  # every task with a same-type sibling; MTL without a type: none
            expected = [] if "--without" in line else ["gene_demo_a", "gene_demo_b"]
        else:  # species_demo is alone in its type
            expected = [t for t in GENE_PAIR if t != tasks[0]] if tasks[0] in GENE_PAIR else []
        assert [t[0] for t in tested] == expected, line
        key = re.search(r"--task \S+?=\S+?=results/windows/([^/]+)/", line).group(1)
        assert all(
            t[1] == "gene" and t[2] == f"results/windows/{key}/{t[0]}/test.pt" for t in tested
        )  # the job's own cache
    assert job_counts(out)["cross_corpus"] == 1


@pytest.mark.slow
def test_tiny_workflow_with_two_tasks_of_one_type_builds_the_cross_corpus_table(tmp_path):
    config = tiny_config(tmp_path, tasks=GENE_PAIR, ablation_levels=[0.0])
    snakemake(tmp_path, config=config)
    results = tmp_path / "results"
    table = (results / "tables" / "cross_corpus.csv").read_text().splitlines()
    assert table[0].startswith("entity,source,target,kind,without,ablation,seed,precision,recall,f1,in_corpus_f1,drop")
    rows = [line.split(",") for line in table[1:]]
    assert sorted((r[3], r[1], r[2]) for r in rows) == [
        ("mtl", "gene_demo_a", "gene_demo_b"), ("mtl", "gene_demo_b", "gene_demo_a"),
        ("stl", "gene_demo_a", "gene_demo_b"), ("stl", "gene_demo_b", "gene_demo_a"),
    ]  # fmt: skip
    stl = json.loads((results / "stl/gene_demo_a/ablation_0.0/seed_1/metrics.json").read_text())
    (cross,) = stl["cross_corpus"]
    row = next(r for r in rows if (r[3], r[1]) == ("stl", "gene_demo_a"))
    assert float(row[9]) == pytest.approx(cross["test"]["entity"]["f1"])
    assert float(row[11]) == pytest.approx(
        stl["tasks"]["gene_demo_a"]["test"]["entity"]["f1"] - cross["test"]["entity"]["f1"]
    )
    assert (results / "figures" / "fig_cross_corpus_gene.png").read_bytes()[:4] == b"\x89PNG"
    assert (results / "tables" / "cross_corpus.md").read_text().startswith("# Cross-corpus transfer")
    # the HTML report carries the table and the heat map, with their captions
    snakemake(tmp_path, "--report", str(tmp_path / "report.html"), config=config)
    html = (tmp_path / "report.html").read_text(encoding="utf-8")
    assert (
        "Cross-corpus transfer, for every STL, MTL" in html and "Cross-corpus transfer within one entity type" in html
    )


def test_a_documents_key_changes_only_that_corpus_prepare_command(tmp_path):
    """documents: {by: blank_lines | sentences} reaches prepare as --documents (rule prepare_corpus
    or prepare_target, as without it); every other prepare command stays byte for byte what it was."""

    def prepare_commands(config):
        out = snakemake(tmp_path, "-n", "-p", config=config, quiet=False).stdout
        return {
            re.search(r"--task (\S+)", line).group(1): line.strip()
            for line in out.splitlines()
            if " prepare --task " in line
        }, job_counts(out)

    target = {"gene_demo_b": {"entity": "gene"}}
    before, _ = prepare_commands(tiny_config(tmp_path, cross_corpus_targets=target))
    assert before and not any("--documents" in c for c in before.values())
    tasks = {
        "gene_demo_a": {"entity": "gene", "dataset": "DemoGeneA", "documents": {"by": "blank_lines", "n": 2}},
        "species_demo": {"entity": "species", "dataset": "DemoSpecies", "documents": {"by": "docstart"}},
    }
    target = {"gene_demo_b": {"entity": "gene", "documents": {"by": "sentences", "n": 5}}}
    config = tiny_config(tmp_path, tasks=tasks, cross_corpus_targets=target)
    after, counts = prepare_commands(config)
    assert "--documents blank_lines:2 " in after["gene_demo_a"]
    assert "--splits test" in after["gene_demo_b"] and "--documents sentences:5 " in after["gene_demo_b"]
    assert after["species_demo"] == before["species_demo"]  # by: docstart is the default: no change
    assert counts["prepare_corpus"] == 2 and counts["prepare_target"] == 1
    snakemake(tmp_path, "results/corpora/gene_demo_a/stats.json", config=config)
    stats = json.loads((tmp_path / "results/corpora/gene_demo_a/stats.json").read_text())
    assert stats["documents_from"] == {"train": "blank_lines:2", "dev": "blank_lines:2", "test": "blank_lines:2"}
    bad = tiny_config(tmp_path, tasks={"gene_demo_a": {"entity": "gene", "documents": {"by": "blank_lines"}}})
    proc = snakemake(tmp_path, "-n", config=bad, check=False)
    assert proc.returncode != 0 and "tasks.gene_demo_a.documents" in proc.stdout + proc.stderr
