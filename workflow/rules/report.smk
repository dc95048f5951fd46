# Stage 4: gather every metrics.json into one CSV, then tables and figures from it alone.
# `snakemake -R tables figures` redraws both from existing metrics without retraining.
# Every table (CSV) and figure (PNG) is registered for `snakemake --report report.html`;
# captions live in workflow/report/.

from mtlner.report.tables import table_names
from mtlner.report.plots import figure_names
from mtlner.report import analysis
from mtlner.report import crosscorpus

# with heads: [..., crf] the tables add heads and heads_significance, the error analysis
# heads_boundary_errors, heads_seen_unseen and fig_heads_strict_overlap (CRF against linear)
TABLE_NAMES = table_names(
    entity_ablation=bool(MTL_ENTITIES), paper=bool(PAPER_DIR), baseline=BASELINE_ENABLED, heads=HEADS
)
FIGURE_NAMES = figure_names(entity_ablation=bool(MTL_ENTITIES))
# seen/unseen mentions and boundary errors: their own rule (error_analysis), from predictions
ANALYSIS_TABLES = analysis.table_names(heads=HEADS)
ANALYSIS_FIGURES = analysis.figure_names(entity_ablation=bool(MTL_ENTITIES), heads=HEADS)
# cross-corpus transfer (rule cross_corpus): a heat map per entity type with two tasks or more
CROSS_FIGURES = [crosscorpus.figure_name(e) for e in CROSS_ENTITIES]
# The storage/memory table measures the saved MTL model of the first seed at ablation 0.
STORAGE = bool(config["save_models"]["mtl"])
STORAGE_SEED = SEEDS[0]
STORAGE_HEAD = HEADS[0]  # the first head's models (linear unless heads lists crf first)
BOOTSTRAP_ROUNDS = 1000


report: "../report/workflow.rst"


# every table and figure of the run (rule all)
ALL_TABLES = table_files(
    TABLE_NAMES
    + (["storage"] if STORAGE else [])
    + ["cost", "cost_projection"]
    + ANALYSIS_TABLES
    + ["leak_audit", "cross_corpus"]
)
ALL_FIGURES = figure_files(FIGURE_NAMES + ANALYSIS_FIGURES + CROSS_FIGURES)


rule collect:
    input:
        all_metrics(),
    output:
        METRICS_CSV,
    params:
        py=LAUNCHER,
    conda:
        "../../envs/mtlner.yaml"
    log:
        log_file("collect"),
    shell:
        "{params.py} collect --metrics {input} --out {output} 2> {log}"


rule tables:
    input:
        results=METRICS_CSV,
        stats=corpus_stats(),
        predictions=prediction_files(),
    output:
        [reported(f, "Tables") for f in table_files(TABLE_NAMES)],
    params:
        py=LAUNCHER,
        paper=f"--paper-dir {shlex.quote(PAPER_DIR)}" if PAPER_DIR else "",
        rounds=BOOTSTRAP_ROUNDS,
    conda:
        "../../envs/mtlner.yaml"
    log:
        log_file("tables"),
    shell:
        "{params.py} tables --results {input.results} --corpus-stats {input.stats} {params.paper}"
        " --predictions {input.predictions} --bootstrap-rounds {params.rounds}"
        f" --out-dir {TABLES_DIR}"
        " 2> {log}"


rule error_analysis:
    """Seen vs unseen test mentions (against each job's kept training windows) and boundary
    errors, for every STL, MTL and STL-from-MTL job (mtlner.report.analysis)."""
    input:
        results=METRICS_CSV,
        stats=corpus_stats(),
        predictions=prediction_files(),
        windows=[f"{windows_dir(t)}/train.pt" for t in TASKS],
    output:
        [reported(f, "Tables") for f in table_files(ANALYSIS_TABLES)],
        [reported(f, "Figures") for f in figure_files(ANALYSIS_FIGURES)],
    params:
        py=LAUNCHER,
        windows=" ".join(f"--windows {t}={windows_dir(t)}/train.pt" for t in TASKS),
    conda:
        "../../envs/mtlner.yaml"
    log:
        log_file("error_analysis"),
    shell:
        "{params.py} analysis --results {input.results} --corpus-stats {input.stats} --predictions {input.predictions}"
        " {params.windows}"
        f" --tables-dir {TABLES_DIR} --figures-dir {FIGURES_DIR}"
        " 2> {log}"


rule cross_corpus:
    """Cross-corpus transfer: every STL, MTL, STL-from-MTL and baseline job's heads scored on the
    test splits of the other tasks of their entity type, inside the training jobs (metrics.json,
    key cross_corpus); the table and a heat map per entity type (mtlner.report.crosscorpus). The table
    is empty (no rows) when no entity type has two tasks."""
    input:
        all_metrics(),
    output:
        reported(table_file("cross_corpus", "csv"), "Tables"),
        table_file("cross_corpus", "md"),
        [reported(f, "Figures", caption="../report/fig_cross_corpus.rst") for f in figure_files(CROSS_FIGURES)],
    params:
        py=LAUNCHER,
        entities=" ".join(f"--entity {e}" for e in CROSS_ENTITIES),
    conda:
        "../../envs/mtlner.yaml"
    log:
        log_file("cross_corpus"),
    shell:
        "{params.py} cross-corpus --metrics {input} {params.entities}"
        f" --tables-dir {TABLES_DIR} --figures-dir {FIGURES_DIR}"
        " 2> {log}"


rule storage:
    """Parameters, disk size and inference peak memory: one STL model per task vs one MTL model."""
    input:
        model=job_file("mtl", "model", STORAGE_HEAD, ablation="0.0", seed=STORAGE_SEED),
        stl=(
            [job_file("stl", "model", STORAGE_HEAD, task=t, ablation="0.0", seed=STORAGE_SEED) for t in TASKS]
            if config["save_models"]["stl"]
            else []
        ),
    output:
        reported(table_file("storage", "csv"), "Tables"),
        table_file("storage", "md"),
    params:
        py=LAUNCHER,
        stl=lambda w, input: " ".join(f"--stl-model {m}" for m in input.stl),
        device=config["training"].get("device", "auto"),
        max_length=config["max_length"],
    conda:
        "../../envs/mtlner.yaml"
    log:
        log_file("storage"),
    shell:
        "{params.py} storage --model {input.model} {params.stl} --max-length {params.max_length}"
        " --device {params.device}"
        f" --out-dir {TABLES_DIR}"
        " 2> {log}"


rule cost:
    """Device-hours of this run by job kind, and the paper's grid (config.yaml) projected at the
    throughput measured here."""
    input:
        metrics=all_metrics(),
        windows=[f"{windows_dir(t)}/stats.json" for t in TASKS],
        stats=corpus_stats(),
    output:
        reported(table_file("cost", "csv"), "Tables"),
        table_file("cost", "md"),
        reported(table_file("cost_projection", "csv"), "Tables"),
        table_file("cost_projection", "md"),
    params:
        py=LAUNCHER,
        grid=str(Path(workflow.basedir) / "config.yaml"),
        paper=f"--paper-dir {shlex.quote(PAPER_DIR)}" if PAPER_DIR else "",
    conda:
        "../../envs/mtlner.yaml"
    log:
        log_file("cost"),
    shell:
        "{params.py} cost --metrics {input.metrics} --window-stats {input.windows} --corpus-stats {input.stats}"
        " --grid-config {params.grid:q} {params.paper}"
        f" --out-dir {TABLES_DIR}"
        " 2> {log}"


rule figures:
    input:
        results=METRICS_CSV,
        stats=corpus_stats(),
    output:
        [reported(f, "Figures") for f in figure_files(FIGURE_NAMES)],
    params:
        py=LAUNCHER,
    conda:
        "../../envs/mtlner.yaml"
    log:
        log_file("figures"),
    shell:
        "{params.py} figures --results {input.results} --corpus-stats {input.stats}"
        f" --out-dir {FIGURES_DIR}"
        " 2> {log}"
