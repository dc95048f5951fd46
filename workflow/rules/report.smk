# Stage 4: gather every metrics.json into one CSV, then tables and figures from it alone.
# `snakemake -R tables figures` redraws both from existing metrics without retraining.
# Every table (CSV) and figure (PNG) is registered for `snakemake --report report.html`;
# captions live in workflow/report/.

from mtlner.tables import table_names
from mtlner.plots import figure_names

TABLE_NAMES = table_names(entity_ablation=bool(MTL_ENTITIES), paper=bool(PAPER_DIR))
FIGURE_NAMES = figure_names(entity_ablation=bool(MTL_ENTITIES))
# The storage/memory table measures the saved MTL model of the first seed at ablation 0.
STORAGE = bool(config["save_models"]["mtl"])
STORAGE_SEED = SEEDS[0]
BOOTSTRAP_ROUNDS = 1000


report: "../report/workflow.rst"


def all_tables():
    names = TABLE_NAMES + (["storage"] if STORAGE else [])
    return expand("results/tables/{name}.{ext}", name=names, ext=("csv", "md"))


def all_figures():
    return expand("results/figures/{name}.{ext}", name=FIGURE_NAMES, ext=("png", "svg"))


def _reported(path, category):
    """A table's CSV / a figure's PNG goes into the HTML report with its caption; the other
    formats (Markdown, SVG) are plain outputs."""
    name = Path(path).stem
    if path.endswith((".csv", ".png")):
        return report(path, caption=f"../report/{name}.rst", category=category)
    return path


def prediction_files():
    """Every training job's test predictions, for the bootstrap. They are written by the same
    job as its metrics.json (an input of collect), so they exist when tables runs."""
    files = expand("results/stl/{task}/ablation_{ablation}/seed_{seed}/predictions/{task}.test.tsv", task=TASKS, ablation=ABLATIONS, seed=SEEDS)
    files += expand("results/mtl/all/ablation_{ablation}/seed_{seed}/predictions/{task}.test.tsv", task=TASKS, ablation=ABLATIONS, seed=SEEDS)
    for entity in MTL_ENTITIES:
        files += expand(
            "results/stl_from_mtl/without_{entity}/{task}/ablation_{ablation}/seed_{seed}/predictions/{task}.test.tsv",
            entity=entity,
            task=tasks_of(entity),
            ablation=ABLATIONS,
            seed=SEEDS,
        )
    return files


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
        [_reported(f, "Tables") for f in expand("results/tables/{name}.{ext}", name=TABLE_NAMES, ext=("csv", "md"))],
    params:
        paper=f"--paper-dir {PAPER_DIR}" if PAPER_DIR else "",
        predictions=prediction_files(),
        rounds=BOOTSTRAP_ROUNDS,
    conda:
        "../../envs/mtlner.yaml"
    log:
        "results/logs/tables.log",
    shell:
        "{PY} tables --results {input.results} --corpus-stats {input.stats} {params.paper}"
        " --predictions {params.predictions} --bootstrap-rounds {params.rounds}"
        " --out-dir results/tables 2> {log}"


rule storage:
    """Parameters, disk size and inference peak memory: one STL model per task vs one MTL model."""
    input:
        f"results/mtl/all/ablation_0.0/seed_{STORAGE_SEED}/metrics.json",
        # saved STL folders (save_models.stl) are written by these jobs
        expand(f"results/stl/{{task}}/ablation_0.0/seed_{STORAGE_SEED}/metrics.json", task=TASKS) if config["save_models"]["stl"] else [],
    output:
        _reported("results/tables/storage.csv", "Tables"),
        "results/tables/storage.md",
    params:
        model=f"results/mtl/all/ablation_0.0/seed_{STORAGE_SEED}/model",
        stl=" ".join(
            f"--stl-model results/stl/{task}/ablation_0.0/seed_{STORAGE_SEED}/model" for task in TASKS
        ) if config["save_models"]["stl"] else "",
        device=config["training"].get("device", "auto"),
    conda:
        "../../envs/mtlner.yaml"
    log:
        "results/logs/storage.log",
    shell:
        "{PY} storage --model {params.model} {params.stl} --max-length {config[max_length]}"
        " --device {params.device} --out-dir results/tables 2> {log}"


rule figures:
    input:
        results="results/summary/metrics.csv",
        stats=corpus_stats(),
    output:
        [_reported(f, "Figures") for f in all_figures()],
    conda:
        "../../envs/mtlner.yaml"
    log:
        "results/logs/figures.log",
    shell:
        "{PY} figures --results {input.results} --corpus-stats {input.stats}"
        " --out-dir results/figures 2> {log}"
