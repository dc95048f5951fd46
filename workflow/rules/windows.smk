# Stage 2: tokenise once per (task, encoder, max length) and pack into windows; every training
# job (all ablation levels, seeds and models) reads this cache.


rule windows:
    input:
        train="results/corpora/{task}/train.tsv",
        dev="results/corpora/{task}/dev.tsv",
        test="results/corpora/{task}/test.tsv",
    output:
        train=f"results/windows/{ENCODER_ID}/{{task}}/train.pt",
        dev=f"results/windows/{ENCODER_ID}/{{task}}/dev.pt",
        test=f"results/windows/{ENCODER_ID}/{{task}}/test.pt",
        stats=f"results/windows/{ENCODER_ID}/{{task}}/stats.json",
    params:
        out_dir=lambda w: windows_dir(w.task),
    conda:
        "../../envs/mtlner.yaml"
    log:
        "results/logs/windows/{task}.log",
    shell:
        "{PY} windows --corpus-dir results/corpora/{wildcards.task} --encoder {ENCODER:q}"
        " --max-length {config[max_length]} --out-dir {params.out_dir} 2> {log}"
