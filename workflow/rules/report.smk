# Stage 4: gather every metrics.json into one CSV, then tables and figures from it alone.
# `snakemake -R tables figures` redraws both from existing metrics without retraining.

from mtlner.tables import table_names
from mtlner.plots import figure_names

TABLE_NAMES = table_names(entity_ablation=bool(MTL_ENTITIES), paper=bool(PAPER_DIR))
FIGURE_NAMES = figure_names(entity_ablation=bool(MTL_ENTITIES))


def all_tables():
    return expand("results/tables/{name}.{ext}", name=TABLE_NAMES, ext=("csv", "md"))


def all_figures():
    return expand("results/figures/{name}.{ext}", name=FIGURE_NAMES, ext=("png", "svg"))


rule collect:
    input:
        all_metrics(),
    output:
        "results/summary/metrics.csv",
    conda:
        "../../envs/mtlner.yaml"
    log:
        "results/logs/collect.log",
    shell:
        "{PY} collect --metrics {input} --out {output} 2> {log}"


rule tables:
    input:
        results="results/summary/metrics.csv",
        stats=corpus_stats(),
    output:
        all_tables(),
    params:
        paper=f"--paper-dir {PAPER_DIR}" if PAPER_DIR else "",
    conda:
        "../../envs/mtlner.yaml"
    log:
        "results/logs/tables.log",
    shell:
        "{PY} tables --results {input.results} --corpus-stats {input.stats} {params.paper}"
        " --out-dir results/tables 2> {log}"


rule figures:
    input:
        results="results/summary/metrics.csv",
        stats=corpus_stats(),
    output:
        all_figures(),
    conda:
        "../../envs/mtlner.yaml"
    log:
        "results/logs/figures.log",
    shell:
        "{PY} figures --results {input.results} --corpus-stats {input.stats}"
        " --out-dir results/figures 2> {log}"
