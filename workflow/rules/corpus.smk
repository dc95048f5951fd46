# Stage 1: a task's raw split files -> normalised IOB2 CoNLL + corpus statistics (Table 1);
# then the leak audit of text shared between tasks' splits and evaluation-only targets' test
# splits (and, with drop_leaks, the training sentences found in any of them removed).


rule prepare_corpus:
    """A task's split files -> normalised IOB2 CoNLL + stats.json; the config's max_documents
    and documents keys reach the command as flags (prepare_options)."""
    input:
        unpack(raw_corpus),
    output:
        train=f"{prepared_dir()}/train.tsv",
        dev=f"{prepared_dir()}/dev.tsv",
        test=f"{prepared_dir()}/test.tsv",
        stats=f"{prepared_dir()}/stats.json",
    params:
        py=LAUNCHER,
        name=corpus_name,
        entity=lambda w: entity_of(corpus_name(w)),
        dataset=lambda w: corpus_spec(corpus_name(w)).get("dataset", corpus_name(w)),
        input_dir=lambda w, input: Path(input.test).parent,
        splits=lambda w: " ".join(splits_of(corpus_name(w))),
        options=prepare_options,
    conda:
        "../../envs/mtlner.yaml"
    log:
        log_file("prepare_corpus/{task}"),
    shell:
        "{params.py} prepare --task {params.name} --entity {params.entity} --dataset {params.dataset:q}"
        " --input-dir {params.input_dir:q} --splits {params.splits}{params.options}"
        " --out-dir $(dirname {output.stats}) 2> {log}"


use rule prepare_corpus as prepare_target with:
    """An evaluation-only cross-corpus target (config cross_corpus_targets): its test split
    alone, normalised and counted as a task's; no train or dev split is read or needed."""
    input:
        unpack(raw_target),
    output:
        test=f"{corpus_dir('{target}')}/test.tsv",
        stats=f"{corpus_dir('{target}')}/stats.json",
    log:
        log_file("prepare_target/{target}"),


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
