#!/usr/bin/env bash
# Phase-1 proof against a running one-node SLURM (ci/slurm/start.sh):
#  1. plain sbatch: a --gpus=1 job sees CUDA_VISIBLE_DEVICES=0, a second
#     --gpus=1 job waits with reason Resources, a CPU-only job runs beside;
#  2. snakemake --executor slurm on tests/slurm/Snakefile: every job went
#     through SLURM, gpu=1 jobs never overlap, CPU jobs run beside them.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
PY=${PYTHON:-python3}
SMK=${SNAKEMAKE:-snakemake}
W=$(mktemp -d "${TMPDIR:-/tmp}/mtlner-slurm-smoke.XXXXXX")
log() { echo "[slurm-smoke] $*"; }
fail() { echo "[slurm-smoke] FAIL: $*"; exit 1; }

# ---- 1. plain sbatch ---------------------------------------------------------
cd "$W"
g1=$(sbatch --parsable --gpus=1 -c1 --mem=200 -t 10 -o g1.out --wrap 'echo CVD=${CUDA_VISIBLE_DEVICES-unset}; sleep 6')
g2=$(sbatch --parsable --gpus=1 -c1 --mem=200 -t 10 -o g2.out --wrap 'echo CVD=${CUDA_VISIBLE_DEVICES-unset}')
c1=$(sbatch --parsable -c1 --mem=200 -t 1 -o c1.out --wrap 'echo CVD=${CUDA_VISIBLE_DEVICES-unset}; sleep 1')
seen_resources=0 seen_beside=0
for _ in $(seq 60); do
    st=$(squeue -h -t all -j "$g1,$g2,$c1" -o '%i %T %r')
    grep -q "^$g2 PENDING Resources" <<<"$st" && seen_resources=1
    grep -q "^$g1 RUNNING" <<<"$st" && grep -Eq "^$c1 (RUNNING|COMPLETED)" <<<"$st" \
        && grep -q "^$g2 PENDING" <<<"$st" && seen_beside=1
    [[ $(grep -c COMPLETED <<<"$st") -eq 3 ]] && break
    sleep 0.5
done
[[ $(squeue -h -t all -j "$g1,$g2,$c1" -o '%T' | grep -c COMPLETED) -eq 3 ]] || fail "sbatch jobs did not complete: $st"
grep -qx 'CVD=0' g1.out || fail "GPU job saw $(cat g1.out), expected CVD=0"
grep -qx 'CVD=0' g2.out || fail "2nd GPU job saw $(cat g2.out), expected CVD=0"
grep -qx 'CVD=unset' c1.out || fail "CPU job saw $(cat c1.out)"
[[ $seen_resources == 1 ]] || fail "second --gpus=1 job never waited with reason Resources"
[[ $seen_beside == 1 ]] || fail "CPU job did not run while the first GPU job ran"
log "sbatch: --gpus=1 sees CUDA_VISIBLE_DEVICES=0; 2nd GPU job waited (Resources) while a CPU job ran"

# ---- 2. snakemake --executor slurm ------------------------------------------
cp "$HERE/Snakefile" "$W/Snakefile"
"$SMK" --snakefile "$W/Snakefile" --directory "$W" \
    --executor slurm --slurm-status-command squeue --slurm-no-account \
    --slurm-keep-successful-logs --slurm-init-seconds-before-status-checks 1 \
    --jobs 4 --latency-wait 10 > "$W/snakemake.log" 2>&1 \
    || { tail -40 "$W/snakemake.log"; fail "snakemake --executor slurm failed"; }
"$PY" "$HERE/slurm_jobs.py" check "$W/snakemake.log" --min-jobs 4 --min-gpu-jobs 2 \
    --expect-cpu-beside-gpu || fail "SLURM job checks"
for f in "$W"/out/g*.txt; do grep -q 'cvd=0 ' "$f" || fail "$f: $(cat "$f")"; done
for f in "$W"/out/*.txt; do grep -Eq 'job=[0-9]+ ' "$f" || fail "$f ran outside SLURM: $(cat "$f")"; done
ls "$W"/.snakemake/slurm_logs/rule_gpu_job/*/*.log >/dev/null || fail "no plugin logs"
log "snakemake --executor slurm: OK ($W)"

# ---- 3. gpu_share on SLURM: K small GPU jobs packed into one SLURM job on one GPU ---------------
# (the settings of profiles/slurm-grouped, with K=3; ci/slurm/test_slurm.sh runs that profile itself on the real workflow)
P="$W/pack"; mkdir -p "$P"
cat > "$P/Snakefile" <<'SMK'
rule all:
    input: expand("out/{i}.txt", i=range(3))
rule train_stl:
    output: "out/{i}.txt"
    resources: gpu=1, mem_mb=300, runtime=10
    shell: "s=$(date +%s.%N); sleep 1; echo job=$SLURM_JOB_ID cvd=$CUDA_VISIBLE_DEVICES start=$s end=$(date +%s.%N) > {output}"
SMK
"$SMK" --snakefile "$P/Snakefile" --directory "$P" \
    --executor slurm --slurm-status-command squeue --slurm-no-account \
    --slurm-init-seconds-before-status-checks 1 --jobs 4 \
    --groups train_stl=stl_pack --group-components stl_pack=3 \
    --resources gpu=1 --set-resource-scopes gpu=local --verbose > "$P/snakemake.log" 2>&1 \
    || { tail -40 "$P/snakemake.log"; fail "packed gpu_share run failed"; }
n=$(grep -c "submitted with SLURM jobid" "$P/snakemake.log")
[[ $n -eq 1 ]] || fail "expected 1 packed SLURM job, got $n"
grep -q "sbatch call: .* -t 30 .*--gpus=1 " "$P/snakemake.log" || fail "packed job did not ask for --gpus=1 and the summed runtime"
[[ $(cut -d' ' -f1,2 "$P"/out/*.txt | sort -u | wc -l) -eq 1 ]] || fail "packed jobs ran in different SLURM jobs/devices: $(cat "$P"/out/*.txt)"
log "gpu_share packing: 3 GPU jobs ran in one SLURM job (--gpus=1, -t 30)"
