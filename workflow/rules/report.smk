# Stage 4: gather every metrics.json into one CSV, then tables and figures from it alone.
# `snakemake -R tables figures` redraws both from existing metrics without retraining.
# Every table (CSV) and figure (PNG) is registered for `snakemake --report report.html`;
# captions live in workflow/report/.

from mtlner.report.tables import table_names
from mtlner.report.plots import figure_names
from mtlner.report import analysis
from mtlner.report import crosscorpus

TABLE_NAMES = table_names(entity_ablation=bool(MTL_ENTITIES), paper=bool(PAPER_DIR), baseline=BASELINE_ENABLED)
FIGURE_NAMES = figure_names(entity_ablation=bool(MTL_ENTITIES))
# seen/unseen mentions and boundary errors: their own rule (error_analysis), from predictions
ANALYSIS_TABLES = list(analysis.TABLES)
ANALYSIS_FIGURES = analysis.figure_names(entity_ablation=bool(MTL_ENTITIES))
# cross-corpus transfer (rule cross_corpus): a heat map per entity type with two tasks or more
CROSS_FIGURES = [crosscorpus.figure_name(e) for e in CROSS_ENTITIES]
# The storage/memory table measures the saved MTL model of the first seed at ablation 0.
STORAGE = bool(config["save_models"]["mtl"])
STORAGE_SEED = SEEDS[0]
BOOTSTRAP_ROUNDS = 1000


report: "../report/workflow.rst"


# every table and figure of the run (rule all)
ALL_TABLES = expand(
    "results/tables/{name}.{ext}",
    name=TABLE_NAMES
    + (["storage"] if STORAGE else [])
    + ["cost", "cost_projection"]
    + ANALYSIS_TABLES
    + ["leak_audit", "cross_corpus"],
    ext=("csv", "md"),
)
ALL_FIGURES = expand(
    "results/figures/{name}.{ext}", name=FIGURE_NAMES + ANALYSIS_FIGURES + CROSS_FIGURES, ext=("png", "svg")
)


rule collect:
    input:
        all_metrics(),
    output:
        "results/summary/metrics.csv",
    params:
        py=LAUNCHER,
    conda:
        "../../envs/mtlner.yaml"
    log:
        "results/logs/collect.log",
    shell:
        "{params.py} collect --metrics {input} --out {output} 2> {log}"


rule tables:
    input:
        results="results/summary/metrics.csv",
        stats=corpus_stats(),
        predictions=prediction_files(),
    output:
        [reported(f, "Tables") for f in expand("results/tables/{name}.{ext}", name=TABLE_NAMES, ext=("csv", "md"))],
    params:
        py=LAUNCHER,
        paper=f"--paper-dir {shlex.quote(PAPER_DIR)}" if PAPER_DIR else "",
        rounds=BOOTSTRAP_ROUNDS,
    conda:
        "../../envs/mtlner.yaml"
    log:
        "results/logs/tables.log",
    shell:
        "{params.py} tables --results {input.results} --corpus-stats {input.stats} {params.paper}"
        " --predictions {input.predictions} --bootstrap-rounds {params.rounds}"
        " --out-dir results/tables 2> {log}"


rule error_analysis:
    """Seen vs unseen test mentions (against each job's kept training windows) and boundary
    errors, for every STL, MTL and STL-from-MTL job (mtlner.report.analysis)."""
    input:
        results="results/summary/metrics.csv",
        stats=corpus_stats(),
        predictions=prediction_files(),
        windows=[f"{windows_dir(t)}/train.pt" for t in TASKS],
    output:
        [reported(f, "Tables") for f in expand("results/tables/{name}.{ext}", name=ANALYSIS_TABLES, ext=("csv", "md"))],
        [
            reported(f, "Figures")
            for f in expand("results/figures/{name}.{ext}", name=ANALYSIS_FIGURES, ext=("png", "svg"))
        ],
    params:
        py=LAUNCHER,
        windows=" ".join(f"--windows {t}={windows_dir(t)}/train.pt" for t in TASKS),
    conda:
        "../../envs/mtlner.yaml"
    log:
        "results/logs/error_analysis.log",
    shell:
        "{params.py} analysis --results {input.results} --corpus-stats {input.stats} --predictions {input.predictions}"
        " {params.windows} --tables-dir results/tables --figures-dir results/figures 2> {log}"


rule cross_corpus:
    """Cross-corpus transfer: every STL, MTL, STL-from-MTL and baseline job's heads scored on the
    test splits of the other tasks of their entity type, inside the training jobs (metrics.json,
    key cross_corpus); the table and a heat map per entity type (mtlner.report.crosscorpus). The table
    is empty (no rows) when no entity type has two tasks."""
    input:
        all_metrics(),
    output:
        reported("results/tables/cross_corpus.csv", "Tables"),
        "results/tables/cross_corpus.md",
        [
            reported(f, "Figures", caption="../report/fig_cross_corpus.rst")
            for f in expand("results/figures/{name}.{ext}", name=CROSS_FIGURES, ext=("png", "svg"))
        ],
    params:
        py=LAUNCHER,
        entities=" ".join(f"--entity {e}" for e in CROSS_ENTITIES),
    conda:
        "../../envs/mtlner.yaml"
    log:
        "results/logs/cross_corpus.log",
    shell:
        "{params.py} cross-corpus --metrics {input} {params.entities}"
        " --tables-dir results/tables --figures-dir results/figures 2> {log}"


rule storage:
    """Parameters, disk size and inference peak memory: one STL model per task vs one MTL model."""
    input:
        model=job_file("mtl", "model", ablation="0.0", seed=STORAGE_SEED),
        stl=(
            [job_file("stl", "model", task=t, ablation="0.0", seed=STORAGE_SEED) for t in TASKS]
            if config["save_models"]["stl"]
            else []
        ),
    output:
        reported("results/tables/storage.csv", "Tables"),
        "results/tables/storage.md",
    params:
        py=LAUNCHER,
        stl=lambda w, input: " ".join(f"--stl-model {m}" for m in input.stl),
        device=config["training"].get("device", "auto"),
        max_length=config["max_length"],
    conda:
        "../../envs/mtlner.yaml"
    log:
        "results/logs/storage.log",
    shell:
        "{params.py} storage --model {input.model} {params.stl} --max-length {params.max_length}"
        " --device {params.device} --out-dir results/tables 2> {log}"


rule cost:
    """Device-hours of this run by job kind, and the paper's grid (config.yaml) projected at the
    throughput measured here."""
    input:
        metrics=all_metrics(),
        windows=[f"{windows_dir(t)}/stats.json" for t in TASKS],
        stats=corpus_stats(),
    output:
        reported("results/tables/cost.csv", "Tables"),
        "results/tables/cost.md",
        reported("results/tables/cost_projection.csv", "Tables"),
        "results/tables/cost_projection.md",
    params:
        py=LAUNCHER,
        grid=str(Path(workflow.basedir) / "config.yaml"),
        paper=f"--paper-dir {shlex.quote(PAPER_DIR)}" if PAPER_DIR else "",
    conda:
        "../../envs/mtlner.yaml"
    log:
        "results/logs/cost.log",
    shell:
        "{params.py} cost --metrics {input.metrics} --window-stats {input.windows} --corpus-stats {input.stats}"
        " --grid-config {params.grid:q} {params.paper} --out-dir results/tables 2> {log}"


rule figures:
    input:
        results="results/summary/metrics.csv",
        stats=corpus_stats(),
    output:
        [reported(f, "Figures") for f in expand("results/figures/{name}.{ext}", name=FIGURE_NAMES, ext=("png", "svg"))],
    params:
        py=LAUNCHER,
    conda:
        "../../envs/mtlner.yaml"
    log:
        "results/logs/figures.log",
    shell:
        "{params.py} figures --results {input.results} --corpus-stats {input.stats}"
        " --out-dir results/figures 2> {log}"
