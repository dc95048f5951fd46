# mtlner: multitask biomedical NER (Rodriguez, Nguyen & McInnes 2022) as a Snakemake workflow.
#
#   snakemake --cores 2 --configfile config/demo.yaml     # offline demo (make demo)
#   snakemake --cores N                                    # full paper grid (config.yaml)
#   snakemake -R figures tables                            # redraw figures/tables, no retraining
#
# Stages (one rule file each): corpus -> windows -> train (STL, MTL, entity ablation) -> report.

from pathlib import Path

from snakemake.exceptions import WorkflowError
from snakemake.utils import min_version

min_version("8.0")


# config.yaml is the default; a --configfile replaces it instead of being merged into it
# (Snakemake would otherwise add the demo's tasks to the paper's 22). `--config key=value` works
# either way: Snakemake applies it on top of whichever file was loaded.
if not workflow.config_settings.configfiles:
    # first our own read, whose syntax errors name the file and line (Snakemake's do not)
    from mtlner.run.configload import check_config_file
    from mtlner.errors import UserError

    try:
        check_config_file(Path(workflow.basedir) / "config.yaml")
    except UserError as err:
        raise WorkflowError(str(err)) from None

    configfile: str(Path(workflow.basedir) / "config.yaml")


include: "workflow/rules/common.smk"
include: "workflow/rules/resources.smk"
include: "workflow/rules/huner.smk"
include: "workflow/rules/corpus.smk"
include: "workflow/rules/windows.smk"
include: "workflow/rules/train.smk"
include: "workflow/rules/report.smk"


# Local runs: jobs fork from one warm process instead of importing torch each (fork_server).
onstart:
    start_fork_server()


onsuccess:
    stop_fork_server()


onerror:
    stop_fork_server()


rule all:
    input:
        ALL_TABLES,
        ALL_FIGURES,
        kept_outputs(),  # so that a deleted metrics.json, model/, window cache... is rebuilt
    default_target: True


# Named targets for parts of the grid, e.g. `snakemake --cores 4 stl`.
rule corpora:
    input:
        corpus_stats(),


rule stl:
    input:
        stl_metrics(),


rule mtl:
    input:
        mtl_metrics(),


rule entity_ablation:
    input:
        entity_ablation_metrics(),


rule baseline:
    input:
        baseline_metrics(),
