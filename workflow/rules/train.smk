# Stage 3: training jobs. STL (one task), MTL (all tasks, round robin), and entity ablation:
# MTL without one entity type, then STL fine-tuning from that encoder on each task of the type.
# One rule holds the command and resources; the others reuse it (`use rule ... with:`) and
# set only what differs: files, kind, tasks, flags (params not given are train_stl's).
# Every file a job writes is a declared output (metrics, predictions, model), so deleting one
# reruns the job. Outputs are written atomically by the CLI; an interrupted job resumes from its
# checkpoint in <job dir>/.work when rerun. The encoder and training settings are params, so
# changing them in the config reruns the jobs (Snakemake's params rerun trigger), but for the
# settings that cannot change a result (common.smk LAUNCH_ONLY, and threads).


rule train_stl:
    input:
        windows=lambda w: window_files([w.task]),
        cross_test=lambda w: cross_test_inputs(cross_targets(w.task)),
    output:
        **model_output("stl"),
        metrics=job_file("stl", "metrics.json"),
        predictions=predictions_file("stl"),
    params:
        py=train_launcher(),
        kind="stl",
        tasks=lambda w: task_args([w.task]),
        init=ENCODER,
        extra=lambda w: f"--ablation {w.ablation} {save_flag('stl')}{cross_test_args(cross_targets(w.task))}",
        training=training_args(),
        gpu_run=train_prefix("stl"),
    threads: TRAIN_THREADS
    resources:
        gpu=train_gpus,
        mem_mb=train_mem_mb,
        runtime=train_runtime,
    conda:
        "../../envs/mtlner.yaml"
    log:
        job_log("stl"),
    shell:
        "{params.gpu_run} {params.py} train --kind {params.kind} {params.tasks} --init {params.init:q} {params.extra}"
        " --seed {wildcards.seed} --threads {threads} {params.training}"
        " --out-dir $(dirname {output.metrics}) 2> {log}"


use rule train_stl as train_mtl with:
    input:
        windows=window_files(TASKS),
        cross_test=cross_test_inputs(CROSS_TASKS),
        corpora=mtl_corpora,
    output:
        metrics=job_file("mtl", "metrics.json"),
        predictions=[predictions_file("mtl", task=t) for t in TASKS],
    params:
        kind="mtl",
        tasks=task_args(TASKS),
        extra=lambda w: f"--ablation {w.ablation}{cross_test_args(CROSS_TASKS)}",
        gpu_run=train_prefix("mtl"),
    log:
        job_log("mtl"),


# The MTL model with no data removed is kept (storage table, `mtlner tag`): its own rule,
# because Snakemake outputs cannot depend on a wildcard's value.
if config["save_models"]["mtl"]:

    use rule train_mtl as train_mtl_saved with:
        output:
            metrics=job_file("mtl", "metrics.json", ablation="0.0"),
            predictions=[predictions_file("mtl", task=t, ablation="0.0") for t in TASKS],
            model=directory(job_file("mtl", "model", ablation="0.0")),
        params:
            extra=f"--ablation 0.0 --save-model{cross_test_args(CROSS_TASKS)}",
        log:
            job_log("mtl", ablation="0.0"),

    ruleorder: train_mtl_saved > train_mtl


use rule train_mtl as train_mtl_without with:
    input:
        windows=lambda w: window_files(tasks_without(w.entity)),
        corpora=mtl_corpora,
    output:
        metrics=job_file("mtl_without", "metrics.json"),
        predictions=directory(job_file("mtl_without", "predictions")),
        model=directory(job_file("mtl_without", "model")),
    params:
        tasks=lambda w: task_args(tasks_without(w.entity)),
        extra=lambda w: f"--without {w.entity} --save-model",
    log:
        job_log("mtl_without"),


use rule train_stl as train_stl_from_mtl with:
    input:
        windows=lambda w: window_files([w.task]),
        cross_test=lambda w: cross_test_inputs(cross_targets(w.task)),
        encoder=rules.train_mtl_without.output.model,
    output:
        metrics=job_file("stl_from_mtl", "metrics.json"),
        predictions=predictions_file("stl_from_mtl"),
    params:
        kind="stl_from_mtl",
        init=lambda w, input: input.encoder,
        extra=lambda w: (
            f"--without {w.entity} --tokenizer {shlex.quote(ENCODER)} --ablation {w.ablation}"
            f"{cross_test_args(cross_targets(w.task))}"
        ),
    log:
        job_log("stl_from_mtl"),


# The standard recipe (baseline.* in the config): the same STL job on sentence windows with the
# Hugging Face example settings, so every table can show "paper recipe" beside "standard".
use rule train_stl as train_baseline with:
    input:
        windows=lambda w: window_files([w.task], BASELINE_WINDOW_KEY),
        cross_test=lambda w: cross_test_inputs(cross_targets(w.task), BASELINE_WINDOW_KEY),
    output:
        metrics=job_file("baseline", "metrics.json"),
        predictions=predictions_file("baseline"),
    params:
        py=train_launcher(BASELINE_TRAINING),
        kind="baseline",
        tasks=lambda w: task_args([w.task], BASELINE_WINDOW_KEY),
        extra=lambda w: f"--ablation {w.ablation}{cross_test_args(cross_targets(w.task), BASELINE_WINDOW_KEY)}",
        training=training_args(BASELINE_TRAINING),
    resources:
        gpu=train_gpus,
        mem_mb=train_mem_mb,
        runtime=train_runtime_for("baseline", BASELINE_TRAINING),
    log:
        job_log("baseline"),


# CRF heads (config heads: [..., crf]): every rule above but the baseline once more, with
# --head crf and the same folders under results/crf/; STL from MTL starts from the CRF MTL
# encoder without the type (a fresh CRF head, as the linear rule starts a fresh linear one).
if "crf" in HEADS:

    use rule train_stl as train_stl_crf with:
        output:
            **model_output("stl", "crf"),
            metrics=job_file("stl", "metrics.json", "crf"),
            predictions=predictions_file("stl", head="crf"),
        params:
            training=training_args(head="crf"),
        log:
            job_log("stl", "crf"),

    use rule train_mtl as train_mtl_crf with:
        output:
            metrics=job_file("mtl", "metrics.json", "crf"),
            predictions=[predictions_file("mtl", task=t, head="crf") for t in TASKS],
        params:
            training=training_args(head="crf"),
        log:
            job_log("mtl", "crf"),

    if config["save_models"]["mtl"]:

        use rule train_mtl_saved as train_mtl_saved_crf with:
            output:
                metrics=job_file("mtl", "metrics.json", "crf", ablation="0.0"),
                predictions=[predictions_file("mtl", task=t, head="crf", ablation="0.0") for t in TASKS],
                model=directory(job_file("mtl", "model", "crf", ablation="0.0")),
            params:
                training=training_args(head="crf"),
            log:
                job_log("mtl", "crf", ablation="0.0"),

        ruleorder: train_mtl_saved_crf > train_mtl_crf

    use rule train_mtl_without as train_mtl_without_crf with:
        output:
            metrics=job_file("mtl_without", "metrics.json", "crf"),
            predictions=directory(job_file("mtl_without", "predictions", "crf")),
            model=directory(job_file("mtl_without", "model", "crf")),
        params:
            training=training_args(head="crf"),
        log:
            job_log("mtl_without", "crf"),

    use rule train_stl_from_mtl as train_stl_from_mtl_crf with:
        input:
            windows=lambda w: window_files([w.task]),
            cross_test=lambda w: cross_test_inputs(cross_targets(w.task)),
            encoder=rules.train_mtl_without_crf.output.model,
        output:
            metrics=job_file("stl_from_mtl", "metrics.json", "crf"),
            predictions=predictions_file("stl_from_mtl", head="crf"),
        params:
            training=training_args(head="crf"),
        log:
            job_log("stl_from_mtl", "crf"),
