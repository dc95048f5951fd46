# HUNER corpora (issue 3): download -> split lists -> convert, one job per corpus/split/task.
# All logic lives in `python -m mtlner.data.huner`; these rules only name files. Needs common.smk
# (the schema's defaults, the launcher).
#
# Config keys read here (all optional except tasks):
#   tasks.<name>.source == "huner"   which tasks this file builds (HUNER_TASKS)
#   huner_registry: path             registry YAML (default: src/mtlner/data/huner/registry.yaml)
#   huner_url_base: URL              rewrite every download URL to URL/<host>/<path>
#                                    (tests, offline mirrors)
#   huner_download: {timeout: 60, retries: 3, backoff: 2}  (defaults in the schema)
#   huner_mention_boundaries: cut|huner  override the registry's mention_boundaries (cut words
#                                    at mention boundaries, or keep HUNER's tokens: the
#                                    paper's data, as config.yaml sets)
# Manual downloads go to resources/huner/manual/<corpus>/<file name> (see docs/huner.md).

import re
import shlex
from pathlib import Path

from mtlner.data.huner.registry import load_registry

# the default is this checkout's registry (the path the jobs' --registry names)
_HUNER_SRC = (Path(workflow.current_basedir) / ".." / ".." / "src").resolve()
_HUNER_REGISTRY_PATH = config.get("huner_registry") or str(_HUNER_SRC / "mtlner" / "data" / "huner" / "registry.yaml")
try:
    # checked as the jobs will read it; --url-base only rewrites URLs, which no rule reads
    _HUNER_REGISTRY = load_registry(_HUNER_REGISTRY_PATH)
except UserError as _err:
    raise WorkflowError(str(_err)) from None

# the configured tasks whose source is HUNER; fail early on one the registry does not know
HUNER_TASKS = [task for task, spec in config["tasks"].items() if spec.get("source") == "huner"]
# evaluation-only cross-corpus targets from HUNER (their test split is all that is converted)
HUNER_TASKS += [t for t, spec in config["cross_corpus_targets"].items() if spec.get("source") == "huner"]
for _task in HUNER_TASKS:
    if _task not in _HUNER_REGISTRY["tasks"]:
        raise WorkflowError(f"config task {_task!r} has source 'huner' but is not in {_HUNER_REGISTRY_PATH}")
_HUNER_SPEC = _HUNER_REGISTRY["tasks"]
# the same launcher as every rule (common.smk), for `python -m mtlner.data.huner`
HUNER_LAUNCHER = Launcher(_python_command("mtlner.data.huner"))
# A Launcher, not a string: Snakemake's params trigger skips it, so a mirror served on another
# port (`mtlner.data.mirror` picks a free one every run) or a moved checkout reruns no HUNER job
# and so retrains nothing; what a download fetched is checked by its sha256 (download.json).
HUNER_OPTIONS = Launcher(
    f"--registry {shlex.quote(_HUNER_REGISTRY_PATH)}"
    + (f" --url-base {shlex.quote(config['huner_url_base'])}" if config.get("huner_url_base") else "")
)
_NETWORK = config["huner_download"]  # the schema's defaults applied
HUNER_NETWORK = f"--timeout {_NETWORK['timeout']} --retries {_NETWORK['retries']} --backoff {_NETWORK['backoff']}"
# a regex matching exactly these names (one that matches nothing when there are none)
_any_of = lambda names: "|".join(re.escape(name) for name in sorted(set(names))) or "(?!x)x"


wildcard_constraints:
    huner_task=_any_of(HUNER_TASKS),
    huner_corpus=_any_of(_HUNER_REGISTRY["corpora"]),
    huner_split=_any_of(spec["split"] for spec in _HUNER_SPEC.values()),


# downloads need the internet, which cluster nodes often lack: run them on the submit host
localrules:
    huner_download,
    huner_split_files,


rule huner_all:
    """Every configured HUNER task (target for `snakemake huner_all`)."""
    input:
        expand(f"{huner_dir('{task}')}/{{part}}.tsv", task=HUNER_TASKS, part=["train", "dev", "test"]),


rule huner_download:
    """Fetch, check and unpack one corpus; download.json records URL, sha256, size."""
    output:
        "resources/huner/downloads/{huner_corpus}/download.json",
    params:
        py=HUNER_LAUNCHER,
        options=HUNER_OPTIONS,
        network=HUNER_NETWORK,
    conda:
        "../../envs/mtlner.yaml"
    log:
        log_file("huner/download/{huner_corpus}"),
    shell:
        "{params.py} {params.options} download --corpus {wildcards.huner_corpus}"
        " --out-dir $(dirname {output}) --manual-dir resources/huner/manual {params.network} 2> {log}"


rule huner_split_files:
    """HUNER's document-ID lists for one split name."""
    output:
        multiext("resources/huner/splits/{huner_split}", ".train", ".dev", ".test", ".json"),
    params:
        py=HUNER_LAUNCHER,
        options=HUNER_OPTIONS,
        network=HUNER_NETWORK,
    conda:
        "../../envs/mtlner.yaml"
    log:
        log_file("huner/splits/{huner_split}"),
    shell:
        "{params.py} {params.options} splits --name {wildcards.huner_split}"
        " --out-dir resources/huner/splits {params.network} 2> {log}"


rule huner_convert:
    """Raw corpus -> huner_dir(): {train,dev,test}.tsv + conversion_report.json."""
    input:
        corpus=lambda w: f"resources/huner/downloads/{_HUNER_SPEC[w.huner_task]['corpus']}/download.json",
        splits=lambda w: multiext(
            f"resources/huner/splits/{_HUNER_SPEC[w.huner_task]['split']}", ".train", ".dev", ".test"
        ),
    output:
        train=f"{huner_dir()}/train.tsv",
        dev=f"{huner_dir()}/dev.tsv",
        test=f"{huner_dir()}/test.tsv",
        report=f"{huner_dir()}/conversion_report.json",
    params:
        py=HUNER_LAUNCHER,
        options=HUNER_OPTIONS,
        data=lambda w, input: str(Path(input.corpus).parent / "data"),
        boundaries=(
            f"--mention-boundaries {config['huner_mention_boundaries']}"
            if config.get("huner_mention_boundaries")
            else ""
        ),
    conda:
        "../../envs/mtlner.yaml"
    log:
        log_file("huner/convert/{huner_task}"),
    shell:
        "{params.py} {params.options} convert --task {wildcards.huner_task} --data-dir {params.data:q}"
        " --split-dir resources/huner/splits --out-dir $(dirname {output.report}) {params.boundaries} 2> {log}"
