# Stage 1: a task's raw split files -> normalised IOB2 CoNLL + corpus statistics (Table 1).


rule prepare_corpus:
    input:
        unpack(raw_corpus),
    output:
        train="results/corpora/{task}/train.tsv",
        dev="results/corpora/{task}/dev.tsv",
        test="results/corpora/{task}/test.tsv",
        stats="results/corpora/{task}/stats.json",
    params:
        entity=lambda w: TASKS[w.task]["entity"],
        dataset=lambda w: TASKS[w.task].get("dataset", w.task),
        input_dir=lambda w, input: Path(input.train).parent,
        limits=lambda w: " ".join(f"{split}={n}" for split, n in sorted(TASKS[w.task].get("max_documents", {}).items())),
    conda:
        "../../envs/mtlner.yaml"
    log:
        "results/logs/prepare_corpus/{task}.log",
    shell:
        "{PY} prepare --task {wildcards.task} --entity {params.entity} --dataset {params.dataset:q}"
        " --input-dir {params.input_dir:q} --max-documents {params.limits} --out-dir results/corpora/{wildcards.task} 2> {log}"
