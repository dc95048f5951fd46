# Stage 1: a task's raw split files -> normalised IOB2 CoNLL + corpus statistics (Table 1);
# then the leak audit of text shared between tasks' splits and evaluation-only targets' test
# splits (and, with drop_leaks, the training sentences found in any of them removed).


rule prepare_corpus:
    input:
        unpack(raw_corpus),
    output:
        train=f"{prepared_dir()}/train.tsv",
        dev=f"{prepared_dir()}/dev.tsv",
        test=f"{prepared_dir()}/test.tsv",
        stats=f"{prepared_dir()}/stats.json",
    params:
        py=LAUNCHER,
        entity=lambda w: TASKS[w.task]["entity"],
        dataset=lambda w: TASKS[w.task].get("dataset", w.task),
        input_dir=lambda w, input: Path(input.train).parent,
        limits=lambda w: " ".join(f"{split}={n}" for split, n in sorted(TASKS[w.task].get("max_documents", {}).items())),
    conda:
        "../../envs/mtlner.yaml"
    log:
        log_file("prepare_corpus/{task}"),
    shell:
        "{params.py} prepare --task {wildcards.task} --entity {params.entity} --dataset {params.dataset:q}"
        " --input-dir {params.input_dir:q} --max-documents {params.limits} --out-dir $(dirname {output.stats}) 2> {log}"


rule prepare_target:
    """An evaluation-only cross-corpus target (config cross_corpus_targets): its test split
    alone, normalised and counted as a task's; no train or dev split is read or needed."""
    input:
        unpack(raw_target),
    output:
        test=f"{corpus_dir('{target}')}/test.tsv",
        stats=f"{corpus_dir('{target}')}/stats.json",
    wildcard_constraints:
        target=WHOLE_TARGET,
    params:
        py=LAUNCHER,
        entity=lambda w: TARGETS[w.target]["entity"],
        dataset=lambda w: TARGETS[w.target].get("dataset", w.target),
        input_dir=lambda w, input: Path(input.test).parent,
    conda:
        "../../envs/mtlner.yaml"
    log:
        log_file("prepare_target/{target}"),
    shell:
        "{params.py} prepare --task {wildcards.target} --entity {params.entity} --dataset {params.dataset:q}"
        " --input-dir {params.input_dir:q} --splits test --out-dir $(dirname {output.stats}) 2> {log}"


# its own rule, not one command for both: prepare_target's command stays as it was, so no
# prepared target (and no job that scores it) is rebuilt (Snakemake's code rerun trigger)
rule prepare_target_cut:
    """An evaluation-only target with max_documents.test: the first N documents of its test
    split (file order; stats.json records how many there were)."""
    input:
        unpack(raw_target),
    output:
        test=f"{corpus_dir('{target}')}/test.tsv",
        stats=f"{corpus_dir('{target}')}/stats.json",
    wildcard_constraints:
        target=CUT_TARGET,
    params:
        py=LAUNCHER,
        entity=lambda w: TARGETS[w.target]["entity"],
        dataset=lambda w: TARGETS[w.target].get("dataset", w.target),
        input_dir=lambda w, input: Path(input.test).parent,
        limits=lambda w: " ".join(f"{split}={n}" for split, n in sorted(TARGETS[w.target]["max_documents"].items())),
    conda:
        "../../envs/mtlner.yaml"
    log:
        log_file("prepare_target/{target}"),
    shell:
        "{params.py} prepare --task {wildcards.target} --entity {params.entity} --dataset {params.dataset:q}"
        " --input-dir {params.input_dir:q} --splits test --max-documents {params.limits}"
        " --out-dir $(dirname {output.stats}) 2> {log}"


# a corpus with documents: {by: blank_lines | sentences} (config, docs/new-corpus.md): its own
# rules, chosen over the two above, so that the others' commands and jobs stay as they were
ruleorder: prepare_corpus_documents > prepare_corpus
ruleorder: prepare_target_documents > prepare_target_cut > prepare_target


rule prepare_corpus_documents:
    """prepare_corpus for a task whose documents key gives its document boundaries."""
    input:
        unpack(raw_corpus),
    output:
        train=f"{prepared_dir()}/train.tsv",
        dev=f"{prepared_dir()}/dev.tsv",
        test=f"{prepared_dir()}/test.tsv",
        stats=f"{prepared_dir()}/stats.json",
    wildcard_constraints:
        task=DOCUMENTS_TASK,
    params:
        py=LAUNCHER,
        entity=lambda w: TASKS[w.task]["entity"],
        dataset=lambda w: TASKS[w.task].get("dataset", w.task),
        input_dir=lambda w, input: Path(input.train).parent,
        limits=lambda w: " ".join(f"{split}={n}" for split, n in sorted(TASKS[w.task].get("max_documents", {}).items())),
        documents=lambda w: DOCUMENTS[w.task],
    conda:
        "../../envs/mtlner.yaml"
    log:
        log_file("prepare_corpus/{task}"),
    shell:
        "{params.py} prepare --task {wildcards.task} --entity {params.entity} --dataset {params.dataset:q}"
        " --input-dir {params.input_dir:q} --max-documents {params.limits} --documents {params.documents}"
        " --out-dir $(dirname {output.stats}) 2> {log}"


rule prepare_target_documents:
    """prepare_target (and prepare_target_cut) for a target whose documents key gives its
    document boundaries."""
    input:
        unpack(raw_target),
    output:
        test=f"{corpus_dir('{target}')}/test.tsv",
        stats=f"{corpus_dir('{target}')}/stats.json",
    wildcard_constraints:
        target=DOCUMENTS_TARGET,
    params:
        py=LAUNCHER,
        entity=lambda w: TARGETS[w.target]["entity"],
        dataset=lambda w: TARGETS[w.target].get("dataset", w.target),
        input_dir=lambda w, input: Path(input.test).parent,
        limits=lambda w: " ".join(
            f"{split}={n}" for split, n in sorted(TARGETS[w.target].get("max_documents", {}).items())
        ),
        documents=lambda w: TARGET_DOCUMENTS[w.target],
    conda:
        "../../envs/mtlner.yaml"
    log:
        log_file("prepare_target/{target}"),
    shell:
        "{params.py} prepare --task {wildcards.target} --entity {params.entity} --dataset {params.dataset:q}"
        " --input-dir {params.input_dir:q} --splits test --max-documents {params.limits} --documents {params.documents}"
        " --out-dir $(dirname {output.stats}) 2> {log}"


if DROP_LEAKS:

    rule drop_leaks:
        """Every task's corpus without the training sentences found in any task's dev or test
        split or in any evaluation-only target's test split."""
        input:
            [f"{prepared_dir(t)}/{name}" for t in TASKS for name in ("train.tsv", "dev.tsv", "test.tsv", "stats.json")],
            targets=target_test_files(),
        output:
            [f"{corpus_dir(t)}/{name}" for t in TASKS for name in ("train.tsv", "dev.tsv", "test.tsv", "stats.json")],
        params:
            py=LAUNCHER,
            corpora=" ".join(f"--corpus {t}={prepared_dir(t)}={corpus_dir(t)}" for t in TASKS) + target_leak_args(),
        conda:
            "../../envs/mtlner.yaml"
        log:
            log_file("drop_leaks"),
        shell:
            "{params.py} leaks drop {params.corpora} 2> {log}"


rule leak_audit:
    """Sentences and document IDs shared between tasks' splits, and between tasks' train/dev
    splits and evaluation-only targets' test splits, read from the corpora training sees: the
    table, and one JSON per task and per target."""
    input:
        [f"{corpus_dir(t)}/{name}" for t in TASKS for name in ("train.tsv", "dev.tsv", "test.tsv", "stats.json")],
        targets=target_test_files(),
    output:
        reported(table_file("leak_audit", "csv"), "Tables"),
        table_file("leak_audit", "md"),
        leaks=[leaks_file(t) for t in [*TASKS, *TARGETS]],
    params:
        py=LAUNCHER,
        corpora=" ".join(f"--corpus {t}={corpus_dir(t)}" for t in TASKS) + target_leak_args(),
        json_dir=lambda w, output: Path(output.leaks[0]).parent,
    conda:
        "../../envs/mtlner.yaml"
    log:
        log_file("leak_audit"),
    shell:
        f"{{params.py}} leaks audit {{params.corpora}} --table-dir {TABLES_DIR} --json-dir {{params.json_dir}} 2> {{log}}"
