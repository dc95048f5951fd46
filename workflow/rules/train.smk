# Stage 3: training jobs. STL (one task), MTL (all tasks, round robin), and entity ablation:
# MTL without one entity type, then STL fine-tuning from that encoder on each task of the type.
# Outputs are written atomically by the CLI; an interrupted job resumes from its checkpoint
# in <out_dir>/.work when rerun.



rule train_stl:
    input:
        lambda w: window_files([w.task]),
    output:
        metrics="results/stl/{task}/ablation_{ablation}/seed_{seed}/metrics.json",
    params:
        tasks=lambda w: task_args([w.task]),
        save=("--save-model" if config["save_models"]["stl"] else ""),
        training=training_args(),
    threads: config["threads"]
    resources:
        gpu=train_gpus,
        mem_mb=train_mem_mb,
        runtime=train_runtime,
    conda:
        "../../envs/mtlner.yaml"
    log:
        "results/logs/stl/{task}/ablation_{ablation}/seed_{seed}.log",
    shell:
        "{GPU_RUN_STL} {PY} train --kind stl {params.tasks} --init {ENCODER:q} --ablation {wildcards.ablation}"
        " --seed {wildcards.seed} --threads {threads} {params.training} {params.save}"
        " --out-dir $(dirname {output.metrics}) 2> {log}"


rule train_mtl:
    input:
        window_files(TASKS),
    output:
        metrics="results/mtl/all/ablation_{ablation}/seed_{seed}/metrics.json",
    params:
        tasks=task_args(TASKS),
        save=lambda w: "--save-model" if config["save_models"]["mtl"] and float(w.ablation) == 0 else "",
        training=training_args(),
    threads: config["threads"]
    resources:
        gpu=train_gpus,
        mem_mb=train_mem_mb,
        runtime=train_runtime,
    conda:
        "../../envs/mtlner.yaml"
    log:
        "results/logs/mtl/all/ablation_{ablation}/seed_{seed}.log",
    shell:
        "{GPU_RUN_MTL} {PY} train --kind mtl {params.tasks} --init {ENCODER:q} --ablation {wildcards.ablation}"
        " --seed {wildcards.seed} --threads {threads} {params.training} {params.save}"
        " --out-dir $(dirname {output.metrics}) 2> {log}"


rule train_mtl_without:
    input:
        lambda w: window_files(tasks_without(w.entity)),
    output:
        metrics="results/mtl/without_{entity}/seed_{seed}/metrics.json",
        model=directory("results/mtl/without_{entity}/seed_{seed}/model"),
    params:
        tasks=lambda w: task_args(tasks_without(w.entity)),
        training=training_args(),
    threads: config["threads"]
    resources:
        gpu=train_gpus,
        mem_mb=train_mem_mb,
        runtime=train_runtime,
    conda:
        "../../envs/mtlner.yaml"
    log:
        "results/logs/mtl/without_{entity}/seed_{seed}.log",
    shell:
        "{GPU_RUN_MTL} {PY} train --kind mtl --without {wildcards.entity} {params.tasks} --init {ENCODER:q}"
        " --seed {wildcards.seed} --threads {threads} {params.training} --save-model"
        " --out-dir $(dirname {output.metrics}) 2> {log}"


rule train_stl_from_mtl:
    input:
        windows=lambda w: window_files([w.task]),
        encoder="results/mtl/without_{entity}/seed_{seed}/model",
    output:
        metrics="results/stl_from_mtl/without_{entity}/{task}/ablation_{ablation}/seed_{seed}/metrics.json",
    params:
        tasks=lambda w: task_args([w.task]),
        training=training_args(),
    threads: config["threads"]
    resources:
        gpu=train_gpus,
        mem_mb=train_mem_mb,
        runtime=train_runtime,
    conda:
        "../../envs/mtlner.yaml"
    log:
        "results/logs/stl_from_mtl/without_{entity}/{task}/ablation_{ablation}/seed_{seed}.log",
    shell:
        "{GPU_RUN_STL} {PY} train --kind stl_from_mtl --without {wildcards.entity} {params.tasks} --init {input.encoder}"
        " --tokenizer {ENCODER:q} --ablation {wildcards.ablation} --seed {wildcards.seed} --threads {threads}"
        " {params.training} --out-dir $(dirname {output.metrics}) 2> {log}"
