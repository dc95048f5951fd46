# Config validation, the experiment grid and the only place that knows the results/ layout.

import hashlib
import json
import re
import shlex
import sys
from pathlib import Path

import yaml
from snakemake.utils import validate

from snakemake.exceptions import WorkflowError

from mtlner.run.configpaths import resolve_config_paths
from mtlner.data.corpus import Boundaries, normalise_entity_type, normalise_entity_types
from mtlner.errors import UserError

from mtlner.run.configload import apply_overrides, check_config_file, typed_overrides
from mtlner.errors import UserError

try:
    # a key written twice (Snakemake keeps the last silently); --config lists and nested values
    # (Snakemake passes them as strings) typed as the schema asks, before validation
    for _path in workflow.configfiles:
        if Path(_path).is_file():  # (a missing one Snakemake has reported)
            check_config_file(_path)
    # the rules folder, not workflow.basedir: tests/huner/Snakefile includes this file from elsewhere
    with open(Path(workflow.current_basedir).parent / "schemas" / "config.schema.yaml", encoding="utf-8") as _fh:
        _schema = yaml.safe_load(_fh)
    apply_overrides(config, typed_overrides(dict(workflow.config_settings.config or {}), _schema))
except UserError as _err:
    raise WorkflowError(str(_err)) from None

validate(config, schema="../schemas/config.schema.yaml", set_default=True)


def _resolve_config_paths():
    """Every path key resolved one way (mtlner.run.configpaths), relative to the config file that sets
    it, a --config value to the working directory, a default to this checkout."""
    cli_files = [str(f) for f in workflow.config_settings.configfiles]
    # files the Snakefile loaded (configfile:) first: the command line's win over them
    files = [str(f) for f in workflow.configfiles if str(f) not in cli_files] + cli_files
    sources = [
        spec.get("source", "local") for spec in [*config["tasks"].values(), *config["cross_corpus_targets"].values()]
    ]
    unused = [] if "local" in sources else ["corpora_dir"]
    checkout = Path(workflow.current_basedir).parents[1]  # workflow/rules -> the repository
    try:
        resolve_config_paths(config, files, dict(workflow.config_settings.config), checkout, Path.cwd(), unused)
    except UserError as err:
        raise WorkflowError(str(err)) from None


_resolve_config_paths()

TASKS = config["tasks"]
# "Gene" on one task and "gene" on another are one entity type (else "MTL without gene" would
# still train on the "Gene" task)
_entities, _entity_warnings = normalise_entity_types({t: spec["entity"] for t, spec in TASKS.items()})
for _task, _entity in _entities.items():
    TASKS[_task]["entity"] = _entity
for _warning in _entity_warnings:
    print(f"mtlner: warning: {_warning}", file=sys.stderr)
ENTITIES = sorted({t["entity"] for t in TASKS.values()})
# Evaluation-only cross-corpus targets (config cross_corpus_targets): corpora prepared and
# windowed from their test split alone and never trained on; every training job with a head
# of their entity type scores them after its own test pass (--cross-test), as it scores the
# other same-type tasks. They are not TASKS: Table 1, the error analysis and the cost table
# count the trained tasks only; targets appear in the cross_corpus table and heat maps (as
# target columns), in results/corpora/<target>/stats.json, and in the leak audit (their test
# split against every task's train and dev splits; drop_leaks also removes their test
# sentences from the train splits). A target's max_documents.test keeps the first N documents.
TARGETS = config["cross_corpus_targets"]
for _target, _spec in TARGETS.items():
    _spec["entity"] = normalise_entity_type(_spec["entity"])
    if _target in TASKS:
        raise WorkflowError(f"config cross_corpus_targets.{_target} has the name of a task; give it another name")
    if _spec["entity"] not in ENTITIES:
        raise WorkflowError(
            f"config cross_corpus_targets.{_target} is a {_spec['entity']} corpus, but no task has that type"
            f" (the tasks' types are {ENTITIES}): no trained head could tag it"
        )
ABLATIONS = [str(float(a)) for a in config["ablation_levels"]]
SEEDS = [str(s) for s in config["seeds"]]
# task heads, a grid dimension (the baseline stays linear): linear jobs keep the paper's paths,
# crf jobs the same paths under results/crf/, so a results folder of linear runs stays valid
HEADS = list(config["heads"])
ENCODER = config["encoder"]
ENCODER_ID = config.get("encoder_id") or re.sub(r"[^A-Za-z0-9_.-]+", "_", ENCODER).strip("_")
WINDOWING = config["windowing"]


def _ablated_entities(setting):
    """entity_ablation: true (every type), false (none) or a list of types to leave out."""
    if setting is True:
        return [e for e in ENTITIES if len(ENTITIES) > 1]
    if setting is False:
        return []
    chosen = [normalise_entity_type(e) for e in setting]
    unknown = sorted(set(chosen) - set(ENTITIES))
    if unknown:
        raise WorkflowError(
            f"config key entity_ablation names {unknown}, which no task has; the tasks' types are {ENTITIES}"
        )
    return sorted(set(chosen))


MTL_ENTITIES = _ablated_entities(config["entity_ablation"])
PAPER_DIR = config["paper_dir"]


def _python_command(module="mtlner.cli"):
    """The interpreter for job commands: the one running Snakemake (a venv, say), or under
    --sdm conda the environment's own python with this checkout's src/ on the path."""
    try:
        from snakemake.settings.types import DeploymentMethod

        if DeploymentMethod.CONDA in workflow.deployment_settings.deployment_method:
            return f"PYTHONPATH={shlex.quote(str(Path(workflow.basedir) / 'src'))} python -m {module}"
    except (ImportError, AttributeError):
        pass
    # quoted: a checkout or venv whose path holds a space (a plain path is left as it is)
    return f"{shlex.quote(sys.executable)} -m {module}"


PY = _python_command()


class Launcher:
    """How every job runs its command: params py=LAUNCHER, then `{params.py} <subcommand>` in
    the shell (no command names a global, as snakemake --lint asks). Not plain data, so
    Snakemake's params rerun trigger skips it: a moved or rebuilt environment reruns no job."""

    def __init__(self, command):
        self.command = command

    def __str__(self):
        return self.command


LAUNCHER = Launcher(PY)


_FORK_SERVER = None


def start_fork_server():
    """onstart: the warm process of mtlner.run.forkserver, when the jobs run on this machine with
    this interpreter (not under --sdm conda, not on a cluster executor, not a job inside one)."""
    global _FORK_SERVER
    local = getattr(workflow, "local_exec", False) and not getattr(workflow, "remote_exec", False)
    if not (config["fork_server"] and local and sys.platform.startswith("linux")):
        return
    if not PY.startswith(shlex.quote(sys.executable)):
        return
    from mtlner.run.forkserver import WorkflowServer

    _FORK_SERVER = WorkflowServer()
    _FORK_SERVER.start(sys.executable, log_file("fork_server"))


def stop_fork_server():
    if _FORK_SERVER is not None:
        _FORK_SERVER.stop()


wildcard_constraints:
    task="|".join(re.escape(t) for t in TASKS),
    entity="|".join(re.escape(e) for e in ENTITIES),
    ablation=r"0\.\d+",
    seed=r"\d+",
    split="train|dev|test",
    target="|".join(re.escape(t) for t in TARGETS) or "(?!x)x",


def tasks_of(entity):
    return [t for t, spec in TASKS.items() if spec["entity"] == entity]


def tasks_without(entity):
    return [t for t, spec in TASKS.items() if spec["entity"] != entity]


def corpus_spec(name):
    """A task's or an evaluation-only target's config entry."""
    return TASKS[name] if name in TASKS else TARGETS[name]


def splits_of(name):
    """The splits a task has; an evaluation-only target (TARGETS) has its test split only."""
    return ("test",) if name in TARGETS else ("train", "dev", "test")


def corpus_name(wildcards):
    """The task or target a prepare or windows job works on (wildcard task or target)."""
    return wildcards.task if hasattr(wildcards, "task") else wildcards.target


def raw_files(name):
    """Where a task's split files come from: a local folder or the HUNER download/convert rules."""
    if corpus_spec(name)["source"] == "huner":
        folder = huner_dir(name)
    else:
        folder = f"{config['corpora_dir']}/{name}"
    return {split: f"{folder}/{split}.tsv" for split in splits_of(name)}


def raw_corpus(wildcards):
    return raw_files(wildcards.task)


def raw_target(wildcards):
    return raw_files(wildcards.target)


# --------------------------------------------------------------------------- results/ layout
# Every path pattern a rule reads or writes is defined here and nowhere else
# (tests/unit/test_rule_paths.py fails on a results/ path in another rule file).

LOGS_DIR = "results/logs"
TABLES_DIR = "results/tables"
FIGURES_DIR = "results/figures"
# every job's metrics.json in one table (rule collect); the tables and figures read it alone
METRICS_CSV = "results/summary/metrics.csv"


def log_file(name):
    """A job's log, e.g. log_file("prepare_corpus/{task}")."""
    return f"{LOGS_DIR}/{name}.log"


def table_file(name, ext):
    return f"{TABLES_DIR}/{name}.{ext}"


def table_files(names):
    """Each named table as CSV and Markdown."""
    return expand(f"{TABLES_DIR}/{{name}}.{{ext}}", name=names, ext=("csv", "md"))


def figure_files(names):
    """Each named figure as PNG and SVG."""
    return expand(f"{FIGURES_DIR}/{{name}}.{{ext}}", name=names, ext=("png", "svg"))


def huner_dir(task="{huner_task}"):
    """A HUNER task's converted splits (rule huner_convert), read as a local corpus folder."""
    return f"results/huner/{task}"


# A task's corpus as the windows and tables read it; with drop_leaks the prepare step writes
# into prepared_dir and the drop_leaks rule writes corpus_dir without the leaked sentences.
DROP_LEAKS = config["drop_leaks"]
LEAKS_DIR = "results/leaks"


def corpus_dir(task="{task}"):
    return f"results/corpora/{task}"


def prepared_dir(task="{task}"):
    return f"{corpus_dir(task)}/before_drop_leaks" if DROP_LEAKS else corpus_dir(task)


def leaks_file(task="{task}"):
    """The leak audit's overlaps of any task's training text with this task's dev/test splits
    (an evaluation-only target's: of any task's train or dev split with its test split)."""
    return f"{LEAKS_DIR}/{task}.json"


def target_test_files():
    """Every evaluation-only target's prepared test split: the leak audit and drop_leaks read them."""
    return [f"{corpus_dir(t)}/test.tsv" for t in TARGETS]


def target_leak_args():
    """' --target NAME=DIR' per evaluation-only target for `mtlner leaks audit|drop`; empty
    without targets, so such a config's commands stay as they were."""
    return "".join(f" --target {t}={corpus_dir(t)}" for t in TARGETS)


def _documents(key, spec):
    """A task's or target's documents key as prepare's --documents value; None where it is
    absent or docstart (the default, which needs no flag)."""
    given = spec.get("documents")
    if not given:
        return None
    try:
        bounds = Boundaries.parse(given["by"] if given["by"] == "docstart" else f"{given['by']}:{given.get('n', '')}")
    except UserError as err:
        raise WorkflowError(f"config {key}.documents: {err}") from None
    return None if bounds.by == "docstart" else str(bounds)


# --documents per task and target with documents: {by: blank_lines | sentences}, checked at load time
DOCUMENTS = {t: d for t, spec in TASKS.items() if (d := _documents(f"tasks.{t}", spec))}
DOCUMENTS |= {t: d for t, spec in TARGETS.items() if (d := _documents(f"cross_corpus_targets.{t}", spec))}


def prepare_options(wildcards):
    """`mtlner prepare`'s flags from a task's or target's config beyond its splits: the
    max_documents cut and the documents key, each only where the config sets it."""
    name = corpus_name(wildcards)
    limits = corpus_spec(name).get("max_documents")
    options = (" --max-documents " + " ".join(f"{s}={n}" for s, n in sorted(limits.items()))) if limits else ""
    return options + (f" --documents {DOCUMENTS[name]}" if name in DOCUMENTS else "")


def window_settings(windowing=None):
    """Everything that changes a window: encoder (its tokenizer), max_length, windowing mode."""
    return {
        "encoder": ENCODER,
        "tokenizer": ENCODER,
        "max_length": config["max_length"],
        "windowing": windowing or WINDOWING,
    }


def window_key(windowing=None):
    """encoder_id plus a hash of window_settings(): changing any of them writes a new cache
    (and reruns exactly the training that reads it) instead of reusing stale windows."""
    digest = hashlib.sha256(json.dumps(window_settings(windowing), sort_keys=True).encode()).hexdigest()[:8]
    return f"{ENCODER_ID}-{digest}"


# The standard recipe of Hugging Face's token-classification examples, trained beside the
# paper's recipe when baseline.enabled: one sentence per window, loss on each word's first
# subword, linear decay, the same epochs as training.
BASELINE = config["baseline"]
BASELINE_ENABLED = BASELINE["enabled"]
BASELINE_TRAINING = {**config["training"], **BASELINE["training"]}
# "batches of 16 sentences" means 16 whatever their length: unless the baseline sets its own
# token budget, raise the paper recipe's so that no batch of full-length windows is split
if "max_tokens" not in BASELINE["training"] and "batch_size" in BASELINE_TRAINING:
    BASELINE_TRAINING["max_tokens"] = max(
        BASELINE_TRAINING.get("max_tokens", 0), BASELINE_TRAINING["batch_size"] * config["max_length"]
    )
WINDOW_KEY = window_key()
BASELINE_WINDOW_KEY = window_key(BASELINE["windowing"])
# every window cache this config needs: key -> settings
WINDOW_SETTINGS = {WINDOW_KEY: window_settings()}
if BASELINE_ENABLED:
    WINDOW_SETTINGS[BASELINE_WINDOW_KEY] = window_settings(BASELINE["windowing"])


def windows_dir(task="{task}", key=WINDOW_KEY):
    return f"results/windows/{key}/{task}"


def window_files(tasks, key=WINDOW_KEY):
    return [f"{windows_dir(t, key)}/{split}.pt" for t in tasks for split in ("train", "dev", "test")]


# Cross-corpus transfer: every STL, MTL, STL-from-MTL and baseline job scores its heads on the
# test splits of the other tasks of the same entity type and of the evaluation-only targets of
# that type (TARGETS), right after its own test pass (mtlner.training.cross_test); those test windows
# are the job's inputs, the scores go into its metrics.json. A task alone in its type with no
# target of its type gets no flag and no input: its jobs do not change.
def entity_of(name):
    return corpus_spec(name)["entity"]


def targets_of(entity):
    return [t for t, spec in TARGETS.items() if spec["entity"] == entity]


def cross_targets(task):
    """The test splits a job training `task` tags: its same-type siblings, then the targets of its type."""
    entity = TASKS[task]["entity"]
    return [t for t in tasks_of(entity) if t != task] + targets_of(entity)


# MTL targets: tasks with a same-type sibling, then every evaluation-only target
CROSS_TASKS = [t for t in TASKS if len(tasks_of(TASKS[t]["entity"])) > 1] + list(TARGETS)
CROSS_ENTITIES = sorted({entity_of(t) for t in CROSS_TASKS})


def cross_test_inputs(tasks, key=WINDOW_KEY):
    return [f"{windows_dir(t, key)}/test.pt" for t in tasks]


def cross_test_args(tasks, key=WINDOW_KEY):
    """' --cross-test NAME=ENTITY=.../test.pt' per task (empty for none), for a job's params."""
    return "".join(f" --cross-test {t}={entity_of(t)}={windows_dir(t, key)}/test.pt" for t in tasks)


# One folder per training job; predictions/<task>.test.tsv and model/ live inside it.
JOB_DIRS = {
    "stl": "results/stl/{task}/ablation_{ablation}/seed_{seed}",
    "mtl": "results/mtl/all/ablation_{ablation}/seed_{seed}",
    "mtl_without": "results/mtl/without_{entity}/seed_{seed}",
    "stl_from_mtl": "results/stl_from_mtl/without_{entity}/{task}/ablation_{ablation}/seed_{seed}",
    "baseline": "results/baseline/{task}/ablation_{ablation}/seed_{seed}",
}


def job_dir(kind, head="linear"):
    """A training job's folder pattern: JOB_DIRS for the linear head, under results/crf/ for CRF heads."""
    if head not in ("linear", "crf") or (head == "crf" and kind == "baseline"):
        raise ValueError(f"no {head} head for {kind} jobs")
    return JOB_DIRS[kind] if head == "linear" else JOB_DIRS[kind].replace("results/", "results/crf/", 1)


def job_file(kind, name, head="linear", **wildcards):
    """A file of a training job, e.g. job_file("stl", "metrics.json", task=...); wildcards not
    given stay as {patterns} for rule outputs."""
    pattern = f"{job_dir(kind, head)}/{name}"
    return expand(pattern, **wildcards, allow_missing=True)[0] if wildcards else pattern


def predictions_file(kind, task="{task}", head="linear", **wildcards):
    return job_file(kind, f"predictions/{task}.test.tsv", head, **wildcards)


def job_log(kind, head="linear", **wildcards):
    """A training job's log: its folder's path under results/logs/, e.g. job_log("mtl", ablation="0.0")."""
    pattern = log_file(job_dir(kind, head).removeprefix("results/"))
    return expand(pattern, **wildcards, allow_missing=True)[0] if wildcards else pattern


def task_args(tasks, key=WINDOW_KEY):
    return " ".join(f"--task {t}={TASKS[t]['entity']}={windows_dir(t, key)}" for t in tasks)


# Training settings that change how a job runs, never what it computes (the checkpoint
# fingerprint leaves them out too): they reach the job through train_launcher(), not its command.
LAUNCH_ONLY = ("progress", "checkpoint_minutes", "device")


def _flags(settings):
    args = []
    for key, value in settings.items():
        name = key.replace("_", "-")
        if isinstance(value, bool):
            args.append(f"--{name}" if value else f"--no-{name}")
        else:
            args.append(f"--{name} {value}")
    return " ".join(args)


def training_args(training=None, head="linear"):
    """Flags for 'mtlner train' from the config's training section (defaults live in TrainConfig),
    less LAUNCH_ONLY, and the head (no flag for linear, TrainConfig's default, so a linear job's
    command is what it was before heads existed): a rule param, so changing one reruns training."""
    training = config["training"] if training is None else training
    flags = _flags({k: v for k, v in training.items() if k not in LAUNCH_ONLY})
    return flags if head == "linear" else f"{flags} --head {head}".lstrip()


def train_launcher(training=None):
    """The training rules' params.py: the interpreter, with the LAUNCH_ONLY settings in
    $MTLNER_TRAIN_OPTIONS (`mtlner train` reads them before its own flags). A Launcher, so
    Snakemake's params trigger skips it: a new progress or checkpoint_minutes retrains nothing."""
    training = config["training"] if training is None else training
    options = _flags({k: v for k, v in training.items() if k in LAUNCH_ONLY})
    if not options:
        return LAUNCHER
    return Launcher(f"env MTLNER_TRAIN_OPTIONS={shlex.quote(options)} {PY}")


def _grid(kind, name, heads=("linear",), **wildcards):
    """Every job file of ``kind`` over the wildcards' values, for each of ``heads`` in turn."""
    return [f for head in heads for f in expand(f"{job_dir(kind, head)}/{name}", **wildcards)]


def stl_metrics():
    return _grid("stl", "metrics.json", HEADS, task=TASKS, ablation=ABLATIONS, seed=SEEDS)


def mtl_metrics():
    return _grid("mtl", "metrics.json", HEADS, ablation=ABLATIONS, seed=SEEDS)


def entity_ablation_metrics():
    files = []
    for head in HEADS:
        files += _grid("mtl_without", "metrics.json", [head], entity=MTL_ENTITIES, seed=SEEDS)
        for entity in MTL_ENTITIES:
            files += _grid(
                "stl_from_mtl",
                "metrics.json",
                [head],
                entity=entity,
                task=tasks_of(entity),
                ablation=ABLATIONS,
                seed=SEEDS,
            )
    return files


def baseline_metrics():
    """The standard recipe for every task, with no data removed."""
    return _grid("baseline", "metrics.json", task=TASKS, ablation=["0.0"], seed=SEEDS) if BASELINE_ENABLED else []


def prediction_files():
    """Every STL, MTL and STL-from-MTL job's test predictions (the bootstrap reads them)."""
    files = []
    for head in HEADS:
        files += _grid("stl", "predictions/{task}.test.tsv", [head], task=TASKS, ablation=ABLATIONS, seed=SEEDS)
        files += _grid("mtl", "predictions/{task}.test.tsv", [head], task=TASKS, ablation=ABLATIONS, seed=SEEDS)
        for entity in MTL_ENTITIES:
            files += _grid(
                "stl_from_mtl",
                "predictions/{task}.test.tsv",
                [head],
                entity=entity,
                task=tasks_of(entity),
                ablation=ABLATIONS,
                seed=SEEDS,
            )
    return files


def all_metrics():
    return stl_metrics() + mtl_metrics() + entity_ablation_metrics() + baseline_metrics()


def corpus_stats():
    return expand(f"{corpus_dir()}/stats.json", task=TASKS)


def kept_outputs():
    """Every file the default target's jobs write before the tables, as inputs of the all
    rule, so that deleting one reruns its job: Snakemake 9 reruns a job whose output is gone
    only when a target asks for that file, not while the tables made from it are there."""
    files = []
    for name in [*TASKS, *TARGETS]:
        splits = raw_files(name)
        if (TASKS.get(name) or TARGETS[name])["source"] == "huner":
            files += list(splits.values())
        folders = {corpus_dir(name), prepared_dir(name)} if name in TASKS else {corpus_dir(name)}
        files += [f"{d}/{s}.tsv" for d in sorted(folders) for s in splits] + [f"{corpus_dir(name)}/stats.json"]
        if name in TASKS:
            files.append(f"{prepared_dir(name)}/stats.json")
        files.append(leaks_file(name))
    for key in WINDOW_SETTINGS:
        files += window_files(TASKS, key) + [f"{windows_dir(t, key)}/stats.json" for t in TASKS]
        files += [f"{windows_dir(t, key)}/{n}" for t in TARGETS for n in ("test.pt", "stats.json")]
    files += all_metrics() + prediction_files() + ["results/summary/metrics.csv"]
    if BASELINE_ENABLED:
        files += _grid("baseline", "predictions/{task}.test.tsv", task=TASKS, ablation=["0.0"], seed=SEEDS)
    files += _grid("mtl_without", "predictions", HEADS, entity=MTL_ENTITIES, seed=SEEDS)
    files += _grid("mtl_without", "model", HEADS, entity=MTL_ENTITIES, seed=SEEDS)
    if config["save_models"]["mtl"]:
        files += _grid("mtl", "model", HEADS, ablation=["0.0"], seed=SEEDS)
    if config["save_models"]["stl"]:
        files += _grid("stl", "model", HEADS, task=TASKS, ablation=ABLATIONS, seed=SEEDS)
    return list(dict.fromkeys(files))


# --------------------------------------------------------------------------- rule pieces
# Functions the rule files call (they hold rules only, as snakemake --lint asks).


def save_flag(kind):
    return "--save-model" if config["save_models"][kind] else ""


def model_output(kind, head="linear"):
    """A training job's saved model, declared as an output where config save_models keeps it."""
    return {"model": directory(job_file(kind, "model", head))} if config["save_models"][kind] else {}


def mtl_tasks(wildcards):
    entity = getattr(wildcards, "entity", None)
    return tasks_without(entity) if entity else list(TASKS)


def mtl_corpora(wildcards):
    """What an MTL job's `leaks warn` reads: its tasks' splits and its targets' test splits."""
    tasks = [f"{corpus_dir(t)}/{split}.tsv" for t in mtl_tasks(wildcards) for split in ("train", "dev", "test")]
    return tasks + ([] if getattr(wildcards, "entity", None) else target_test_files())


def train_prefix(kind):
    """A training rule's params.gpu_run, what runs before `{params.py} train`: the one place
    the launcher chain is built. STL jobs (kind "stl"): `python -m mtlner.run.gpu_slots` (a
    share of a GPU; nothing without GPUs). MTL jobs: `mtlner leaks warn`, which audits the
    job's tasks' corpora (--corpus) and the evaluation-only targets it scores (--target), as the
    leak_audit rule does (no training job waits for it), writes a warning per overlap of
    training text with an evaluation split to its stderr (the job's log), then runs the rest
    of the command in its place: gpu_slots (a whole GPU), then the training command."""
    gpu = _sizing.gpu_run(RESOURCES, kind, _python_command("mtlner.run.gpu_slots"))
    if kind == "stl":
        return gpu

    def mtl_prefix(wildcards):
        corpora = "".join(f" --corpus {t}={corpus_dir(t)}" for t in mtl_tasks(wildcards))
        return f"{PY} leaks warn{corpora}{mtl_target_args(wildcards)} -- {gpu}"

    return mtl_prefix


def mtl_target_args(wildcards):
    """' --target NAME=DIR' per evaluation-only target an MTL job scores (those of
    CROSS_TASKS; an MTL job without a type scores none)."""
    if getattr(wildcards, "entity", None):
        return ""
    return target_leak_args()


def reported(path, category, caption=None):
    """A table's CSV / a figure's PNG goes into the HTML report with its caption (default
    workflow/report/<name>.rst); the other formats (Markdown, SVG) are plain outputs."""
    if path.endswith((".csv", ".png")):
        return report(path, caption=caption or f"../report/{Path(path).stem}.rst", category=category)
    return path
