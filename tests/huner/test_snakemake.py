"""huner.smk: dry run over all 22 tasks, and a real run against a local HTTP server.

Each test starts Snakemake once; in this environment importing Snakemake alone takes
about 10 s, so these two tests dominate the suite's run time.
"""

import io
import re
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest
import yaml

from mtlner.data.huner.registry import PACKAGED_REGISTRY, load_registry

from .server import LocalServer

SNAKEFILE = Path(__file__).with_name("Snakefile")
REPO = Path(__file__).resolve().parents[2]


def run_snakemake(workdir: Path, config: dict, *args: str) -> subprocess.CompletedProcess:
    config_path = workdir / "config.yaml"
    config_path.write_text(yaml.safe_dump(config))
    command = [
        sys.executable,
        "-m",
        "snakemake",
        "-s",
        str(SNAKEFILE),
        "-d",
        str(workdir),
        "--configfile",
        str(config_path),
        "--cores",
        "1",
        "--show-failed-logs",
        *args,
    ]
    return subprocess.run(command, capture_output=True, text=True, timeout=120)


def all_tasks_config() -> dict:
    tasks = load_registry()["tasks"]
    return {
        "tasks": {
            task: {"entity": spec["entity"], "dataset": spec["corpus"].upper(), "source": "huner"}
            for task, spec in tasks.items()
        }
    }


def test_dry_run_plans_download_split_and_convert_jobs_for_all_22_tasks(tmp_path):
    config = all_tasks_config()
    config["tasks"]["disease_local"] = {"entity": "disease", "dataset": "NCBI", "source": "local"}
    config["corpora_dir"] = "."  # a local task's corpora_dir must exist (relative to the config file)
    result = run_snakemake(tmp_path, config, "huner_all", "-n")
    assert result.returncode == 0, result.stderr
    counts = dict(re.findall(r"^(huner_\w+)\s+(\d+)", result.stdout, re.MULTILINE))
    registry = load_registry()
    assert int(counts["huner_convert"]) == 22  # the local task is not claimed by huner rules
    assert int(counts["huner_download"]) == len({spec["corpus"] for spec in registry["tasks"].values()})
    assert int(counts["huner_split_files"]) == len({spec["split"] for spec in registry["tasks"].values()})


@pytest.fixture
def test_registry(tmp_path) -> Path:
    registry = yaml.safe_load(PACKAGED_REGISTRY.read_text())
    registry["corpora"]["cll"]["files"][0]["sha256"] = None  # the fixture archive is not the release
    path = tmp_path / "registry.yaml"
    path.write_text(yaml.safe_dump(registry))
    return path


def test_fixture_run_with_keep_going(tmp_path, test_registry):
    fixtures = REPO / "tests" / "fixtures" / "huner"
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        archive.add(fixtures / "cll" / "CLL-1.0.2", arcname="CLL-1.0.2")
    work = tmp_path / "work"
    work.mkdir()
    config = {
        "tasks": {
            "cellline_cll": {"entity": "cell_line", "dataset": "CLL", "source": "huner"},
            "gene_osiris": {"entity": "gene", "dataset": "OSIRIS", "source": "huner"},
        },
        "huner_registry": str(test_registry),
        "huner_download": {"timeout": 2, "retries": 1, "backoff": 0.01},
    }
    with LocalServer() as server:
        routes = server.behaviours.routes
        routes["/bionlp-www.utu.fi/cell-lines/CLL_corpus.tar.gz"] = ("ok", buffer.getvalue())
        split_base = "/raw.githubusercontent.com/hu-ner/huner/master/ner_scripts/splits"
        for name in ("cll", "osiris"):
            for part in ("train", "dev", "test"):
                routes[f"{split_base}/{name}.{part}"] = ("ok", (fixtures / "splits" / f"cll.{part}").read_bytes())
        config["huner_url_base"] = server.base
        result = run_snakemake(work, config, "--keep-going", "huner_all")
    output = result.stdout + result.stderr
    assert result.returncode != 0  # OSIRIS has no working URL ...
    assert "HUNER corpus 'osiris' (tasks gene_osiris): could not download OSIRIScorpusv02.tar" in output
    assert "ibi.imim.es/OSIRIScorpusv02.tar" in output and "hunflair-corpora" in output
    # ... while CLL went through download -> splits -> convert
    train = (work / "results" / "huner" / "cellline_cll" / "train.tsv").read_text()
    assert train.startswith("-DOCSTART-\tO\n\nThe\tO\nHeLa\tB-cell_line\n")
    assert (work / "results" / "huner" / "cellline_cll" / "conversion_report.json").exists()
    assert (work / "resources" / "huner" / "downloads" / "cll" / "download.json").exists()
    # the mirror of the next run listens on another port: the CLL chain is done, nothing reruns
    # (`make reference` twice retrained everything when the URL base was a plain param)
    config["huner_url_base"] = "http://127.0.0.1:9"
    cll = [f"results/huner/cellline_cll/{part}.tsv" for part in ("train", "dev", "test")]
    again = run_snakemake(work, config, "-n", *cll)
    assert "Nothing to be done" in again.stdout + again.stderr, again.stdout


def test_the_paper_grid_converts_with_huners_whole_words(tmp_path):
    # config.yaml trains on the paper's data: every convert job keeps HUNER's whole words
    paper = yaml.safe_load((REPO / "config.yaml").read_text())
    config = {key: paper[key] for key in ("tasks", "huner_mention_boundaries")}
    result = run_snakemake(tmp_path, config, "huner_all", "-n", "-p")
    assert result.returncode == 0, result.stderr
    converts = [line for line in result.stdout.splitlines() if " convert --task " in line]
    assert len(converts) == 22
    assert all("--mention-boundaries huner" in line for line in converts), converts[:2]


def test_a_broken_registry_stops_the_workflow_with_one_message(tmp_path):
    # huner.smk reads the registry with load_registry, so the jobs' checks apply at load time
    registry = yaml.safe_load(PACKAGED_REGISTRY.read_text())
    del registry["tasks"]
    path = tmp_path / "registry.yaml"
    path.write_text(yaml.safe_dump(registry))
    config = all_tasks_config()
    config["huner_registry"] = str(path)
    result = run_snakemake(tmp_path, config, "huner_all", "-n")
    assert result.returncode != 0
    assert f"{path}: needs top-level keys 'corpora' and 'tasks'" in result.stdout + result.stderr
    assert "Traceback" not in result.stdout + result.stderr
