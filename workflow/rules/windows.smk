# Stage 2: tokenise once per task and window settings (encoder/tokenizer, max_length,
# windowing mode: common.smk's window_settings) and pack into windows; every training job (all
# ablation levels, seeds and models) reads this cache. The settings are hashed into the cache's
# folder name (window_key), so changing one builds a new cache and reruns exactly the affected
# jobs. The baseline recipe's sentence windows are a second key of the same rule. An
# evaluation-only cross-corpus target (windows_target) gets its test windows only, in every
# cache a training job that tags it reads.


rule windows:
    input:
        train=f"{corpus_dir()}/train.tsv",
        dev=f"{corpus_dir()}/dev.tsv",
        test=f"{corpus_dir()}/test.tsv",
    output:
        train=f"{windows_dir(key='{window_key}')}/train.pt",
        dev=f"{windows_dir(key='{window_key}')}/dev.pt",
        test=f"{windows_dir(key='{window_key}')}/test.pt",
        stats=f"{windows_dir(key='{window_key}')}/stats.json",
    wildcard_constraints:
        window_key="|".join(re.escape(k) for k in WINDOW_SETTINGS),
    params:
        py=LAUNCHER,
        encoder=lambda w: WINDOW_SETTINGS[w.window_key]["encoder"],
        max_length=lambda w: WINDOW_SETTINGS[w.window_key]["max_length"],
        windowing=lambda w: WINDOW_SETTINGS[w.window_key]["windowing"],
        splits=lambda w: " ".join(splits_of(corpus_name(w))),
    conda:
        "../../envs/mtlner.yaml"
    log:
        log_file("windows/{window_key}/{task}"),
    shell:
        "{params.py} windows --corpus-dir $(dirname {input.test}) --encoder {params.encoder:q}"
        " --max-length {params.max_length} --windowing {params.windowing} --splits {params.splits}"
        " --out-dir $(dirname {output.stats}) 2> {log}"


use rule windows as windows_target with:
    input:
        test=f"{corpus_dir('{target}')}/test.tsv",
    output:
        test=f"{windows_dir('{target}', '{window_key}')}/test.pt",
        stats=f"{windows_dir('{target}', '{window_key}')}/stats.json",
    log:
        log_file("windows/{window_key}/{target}"),
