# HUNER corpora (issue 3): download -> split lists -> convert, one job per corpus/split/task.
# All logic lives in `python -m mtlner.huner`; these rules only name files.
#
# Config keys read here (all optional except tasks):
#   tasks.<name>.source == "huner"   which tasks this file builds (see huner_tasks())
#   huner_registry: path             registry YAML (default: src/mtlner/huner/registry.yaml)
#   huner_url_base: URL              rewrite every download URL to URL/<host>/<path>
#                                    (tests, offline mirrors)
#   huner_download: {timeout: 60, retries: 3, backoff: 2}  (defaults in the schema)
#   huner_mention_boundaries: cut|huner  override the registry's mention_boundaries (cut words
#                                    at mention boundaries, or keep HUNER's tokens); needs
#                                    an entry in workflow/schemas/config.schema.yaml
# Manual downloads go to resources/huner/manual/<corpus>/<file name> (see docs/huner.md).

import re
import sys
from pathlib import Path

import yaml

_HUNER_SRC = (Path(workflow.current_basedir) / ".." / ".." / "src").resolve()
_HUNER_REGISTRY_PATH = config.get("huner_registry") or str(_HUNER_SRC / "mtlner" / "huner" / "registry.yaml")
with open(_HUNER_REGISTRY_PATH, encoding="utf-8") as _handle:
    _HUNER_REGISTRY = yaml.safe_load(_handle)


def huner_tasks():
    """Names of the configured tasks whose source is HUNER."""
    return [task for task, spec in config.get("tasks", {}).items() if spec.get("source") == "huner"]


def _huner_task(task):
    if task not in _HUNER_REGISTRY["tasks"]:
        raise ValueError(f"config task {task!r} has source 'huner' but is not in {_HUNER_REGISTRY_PATH}")
    return _HUNER_REGISTRY["tasks"][task]


def _huner_cli():
    options = [f"--registry {_HUNER_REGISTRY_PATH}"]
    if config.get("huner_url_base"):
        options.append(f"--url-base {config['huner_url_base']}")
    return (f"PYTHONPATH={_HUNER_SRC}${{PYTHONPATH:+:$PYTHONPATH}} {sys.executable} -m mtlner.huner "
            + " ".join(options))


def _huner_network():
    settings = config["huner_download"]  # the schema's defaults applied
    return f"--timeout {settings['timeout']} --retries {settings['retries']} --backoff {settings['backoff']}"


def _huner_alternatives(names):
    return "|".join(re.escape(name) for name in sorted(set(names))) or "(?!x)x"


_HUNER_TASKS = huner_tasks()
for _task in _HUNER_TASKS:
    _huner_task(_task)  # fail early on a task the registry does not know

wildcard_constraints:
    huner_task=_huner_alternatives(_HUNER_TASKS),
    huner_corpus=_huner_alternatives(_HUNER_REGISTRY["corpora"]),
    huner_split=_huner_alternatives(spec["split"] for spec in _HUNER_REGISTRY["tasks"].values()),


# downloads need the internet, which cluster nodes often lack: run them on the submit host
localrules:
    huner_download,
    huner_split_files,


rule huner_all:
    """Every configured HUNER task (target for `snakemake huner_all`)."""
    input:
        expand("results/huner/{task}/{part}.tsv", task=_HUNER_TASKS, part=["train", "dev", "test"]),


rule huner_download:
    """Fetch, check and unpack one corpus; download.json records URL, sha256, size."""
    output:
        "resources/huner/downloads/{huner_corpus}/download.json",
    params:
        cli=_huner_cli(),
        network=_huner_network(),
    shell:
        "{params.cli} download --corpus {wildcards.huner_corpus} "
        "--out-dir resources/huner/downloads/{wildcards.huner_corpus} "
        "--manual-dir resources/huner/manual {params.network}"


rule huner_split_files:
    """HUNER's document-ID lists for one split name."""
    output:
        multiext("resources/huner/splits/{huner_split}", ".train", ".dev", ".test", ".json"),
    params:
        cli=_huner_cli(),
        network=_huner_network(),
    shell:
        "{params.cli} splits --name {wildcards.huner_split} --out-dir resources/huner/splits {params.network}"


rule huner_convert:
    """Raw corpus -> results/huner/{task}/{train,dev,test}.tsv + conversion_report.json."""
    input:
        corpus=lambda wildcards: "resources/huner/downloads/{}/download.json".format(
            _huner_task(wildcards.huner_task)["corpus"]),
        splits=lambda wildcards: multiext("resources/huner/splits/" + _huner_task(wildcards.huner_task)["split"],
                                          ".train", ".dev", ".test"),
    output:
        train="results/huner/{huner_task}/train.tsv",
        dev="results/huner/{huner_task}/dev.tsv",
        test="results/huner/{huner_task}/test.tsv",
        report="results/huner/{huner_task}/conversion_report.json",
    params:
        cli=_huner_cli(),
        data=lambda wildcards, input: str(Path(input.corpus).parent / "data"),
        boundaries=(f"--mention-boundaries {config['huner_mention_boundaries']}"
                    if config.get("huner_mention_boundaries") else ""),
    shell:
        "{params.cli} convert --task {wildcards.huner_task} --data-dir {params.data} "
        "--split-dir resources/huner/splits --out-dir results/huner/{wildcards.huner_task} {params.boundaries}"
