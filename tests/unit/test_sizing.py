"""mtlner.run.sizing: what a training job asks a cluster for, from its own numbers.

The functions are called directly with the schema's defaults of ``resources`` (the same
defaults Snakemake's validate applies); tests/slurm/test_resources.py checks the rules
through ``snakemake -n``.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from mtlner.run import sizing
from mtlner.errors import UserError

ROOT = Path(__file__).resolve().parents[2]
SCHEMA = yaml.safe_load((ROOT / "workflow" / "schemas" / "config.schema.yaml").read_text())
BASE = "dmis-lab/biobert-base-cased-v1.1"


def resources(**overrides) -> dict:
    """The config's resources section with the schema's defaults applied."""
    props = SCHEMA["properties"]["resources"]["properties"]
    return {key: spec["default"] for key, spec in props.items()} | overrides


def runtime(
    res=None,
    train=400_000 * 1.4,
    dev=80_000 * 1.4,
    test=80_000 * 1.4,
    epochs=20,
    encoder=BASE,
    attempt=1,
    measured=None,
):
    res = res or resources()
    rate = sizing.throughput(res, encoder, threads=4, measured=measured)
    return sizing.runtime_minutes(res, train, dev, test, epochs, rate, attempt)


def test_every_resources_key_has_a_default_and_a_description():
    props = SCHEMA["properties"]["resources"]["properties"]
    assert SCHEMA["properties"]["resources"]["additionalProperties"] is False
    for key, spec in props.items():
        assert "default" in spec and spec.get("description"), key


def test_encoder_size_from_the_name_or_the_config():
    assert sizing.encoder_params_m("bert-large-cased", resources()) == 335
    assert sizing.encoder_params_m(BASE, resources()) == 110
    assert sizing.encoder_params_m("packaged:minilm", resources()) == 22
    assert sizing.encoder_params_m("my/encoder", resources()) == 110
    assert sizing.encoder_params_m("bert-large-cased", resources(encoder_params_m=50)) == 50


def test_bigger_task_more_epochs_bigger_encoder_later_attempt_ask_for_more():
    base = runtime()
    assert runtime(train=4_000_000) > base
    assert runtime(epochs=40) > base and runtime(epochs=5) < base / 2
    assert runtime(encoder="some/bert-large-cased") > 2 * base
    assert runtime(attempt=2) == 2 * base
    mem = sizing.mem_mb(resources(), 1e6, 110)
    assert sizing.mem_mb(resources(), 1e8, 110) > mem
    assert sizing.mem_mb(resources(), 1e8, 335) > sizing.mem_mb(resources(), 1e8, 110)
    assert sizing.mem_mb(resources(), 1e8, 110, attempt=3) == 3 * sizing.mem_mb(resources(), 1e8, 110)


def test_clamps_and_pins():
    assert runtime(train=10, dev=1, test=1) == resources()["runtime_min"]
    assert runtime(train=1e12) == resources()["runtime_max"]
    assert runtime(resources(runtime_max=60), train=1e12, attempt=2) == 120
    assert sizing.mem_mb(resources(), 10, 5) == resources()["mem_mb_min"]
    assert sizing.mem_mb(resources(), 1e12, 110) == resources()["mem_mb_max"]
    assert sizing.mem_mb(resources(mem_mb_max=8000), 1e12, 110) == 8000
    assert runtime(resources(runtime=99), attempt=2) == 198
    assert sizing.mem_mb(resources(mem_mb=12345), 1e12, 110) == 12345
    # a safety margin of 1 asks for less than the default 1.5
    assert runtime(resources(runtime_safety=1.0)) < runtime()


def test_throughput_guess_pin_and_cpu():
    gpu = sizing.throughput(resources(), BASE, threads=4)
    assert gpu["train"] == sizing.GPU_SUBWORDS_PER_SECOND and gpu["eval"] > gpu["train"]
    cpu = sizing.throughput(resources(gpus_per_job=0), BASE, threads=4)
    assert cpu["train"] == 4 * sizing.CPU_SUBWORDS_PER_SECOND_PER_THREAD
    pinned = sizing.throughput(resources(tokens_per_second=10_000), "bert-large", threads=4)
    assert pinned["train"] == pytest.approx(10_000 * 110 / 335)


def test_upsampling_cycles_small_tasks_up_to_the_largest():
    assert sizing.epoch_subwords([10, 100], upsample=False) == 110
    assert sizing.epoch_subwords([10, 100], upsample=True) == 200
    assert sizing.epoch_subwords([], upsample=True) == 0


def test_gpu_run_prefixes():
    py = "/venv/bin/python -m mtlner.run.gpu_slots"
    assert sizing.gpu_run(resources(gpu_share=3), "stl", py) == "/venv/bin/python -m mtlner.run.gpu_slots --share 3 --"
    assert sizing.gpu_run(resources(gpu_share=3), "mtl", py).endswith(
        "-m mtlner.run.gpu_slots --share 3 --exclusive --"
    )
    assert sizing.gpu_run(resources(gpus_per_job=0), "stl", py) == ""
    assert sizing.gpu_share(resources(gpu_share=0)) == 1


# --------------------------------------------------------------------------- calibration


def fake_run(
    root: Path, kind="stl", device="cuda:0", train_subwords=260_000, train_seconds=1.0, epochs=2, task="big"
) -> Path:
    """A results/ folder with one job's metrics.json and the windows stats it trained on:
    ``train_subwords`` subwords per epoch trained in ``train_seconds`` seconds per epoch."""
    windows = root / "windows" / "enc-1234" / task / "stats.json"
    windows.parent.mkdir(parents=True, exist_ok=True)
    split = lambda n, w: {"windows": w, "subwords": n, "words": n, "max_subwords": 512}  # noqa: E731
    windows.write_text(
        json.dumps({"train": split(train_subwords, 500), "dev": split(50_000, 100), "test": split(50_000, 100)})
    )
    job = root / kind / task / "ablation_0.0" / "seed_1" / "metrics.json"
    job.parent.mkdir(parents=True, exist_ok=True)
    history = [{"epoch": e, "train_seconds": train_seconds, "eval_seconds": 0.05} for e in range(1, epochs + 1)]
    job.write_text(json.dumps({
        "kind": kind, "ablation": 0.0, "seed": 1, "without": None, "init": BASE, "device": device,
        "train_seconds": epochs * (train_seconds + 0.05) + 3, "checkpoint_seconds": 0.0, "history": history,
        "tasks": {task: {"entity_type": "gene", "train_windows": 500, "train_windows_total": 500}},
    }))  # fmt: skip
    return root


def test_measured_throughput_from_a_finished_run(tmp_path):
    measured = sizing.measured_throughput(fake_run(tmp_path))
    rate = measured[("stl", "cuda")]
    assert rate["train"] == pytest.approx(260_000)
    assert rate["eval"] == pytest.approx(50_000 / 0.05)
    assert rate["encoder"] == BASE and measured[("*", "cuda")]["train"] == pytest.approx(260_000)
    res = resources(throughput_from=str(tmp_path))
    calibrated = runtime(res, measured=sizing.measured_for(measured, "stl", "cuda", str(tmp_path)))
    # the built-in guess (2,000 subwords/s) asks for hours where the measured speed needs minutes
    assert runtime() > 60 and calibrated == res["runtime_min"]
    big = runtime(res, train=5e9, measured=sizing.measured_for(measured, "stl", "cuda", str(tmp_path)))
    assert big == pytest.approx(1.5 * 20 * 5e9 / 260_000 / 60, rel=0.01)


def test_a_kind_the_run_did_not_train_falls_back_to_the_device(tmp_path):
    measured = sizing.measured_throughput(fake_run(tmp_path, kind="stl"))
    assert sizing.measured_for(measured, "mtl", "cuda")["train"] == pytest.approx(260_000)


def test_measured_on_another_encoder_is_scaled(tmp_path):
    measured = sizing.measured_for(sizing.measured_throughput(fake_run(tmp_path)), "stl", "cuda")
    large = sizing.throughput(resources(), "bert-large-cased", threads=1, measured=measured)
    assert large["train"] == pytest.approx(260_000 * 110 / 335)


def test_no_metrics_is_an_error_naming_the_path(tmp_path):
    with pytest.raises(UserError, match=str(tmp_path)):
        sizing.measured_throughput(tmp_path)


def test_measured_on_cpu_only_cannot_size_gpu_jobs(tmp_path):
    measured = sizing.measured_throughput(fake_run(tmp_path, device="cpu"))
    with pytest.raises(UserError, match="cpu only.*cuda"):
        sizing.measured_for(measured, "stl", "cuda", str(tmp_path))


def test_metrics_without_window_stats_is_an_error(tmp_path):
    fake_run(tmp_path)
    for path in tmp_path.glob("windows/*/*/stats.json"):
        path.unlink()
    with pytest.raises(UserError, match="window statistics"):
        sizing.measured_throughput(tmp_path)


def test_gpus_are_asked_for_where_there_are_some(tmp_path):
    cpu_only, nvidia, rocm = tmp_path / "cpu", tmp_path / "nvidia", tmp_path / "rocm"
    (cpu_only / "dev").mkdir(parents=True)
    (cpu_only / "dev" / "nvidiactl").write_text("")  # a driver node alone is no device
    (nvidia / "dev").mkdir(parents=True)
    (nvidia / "dev" / "nvidia0").write_text("")
    (rocm / "dev").mkdir(parents=True)
    (rocm / "dev" / "kfd").write_text("")
    assert not sizing.cuda_devices_visible({}, cpu_only)
    assert sizing.cuda_devices_visible({}, nvidia) and sizing.cuda_devices_visible({}, rocm)
    assert not sizing.cuda_devices_visible({"CUDA_VISIBLE_DEVICES": ""}, nvidia)  # hidden from the jobs
    assert not sizing.cuda_devices_visible({"CUDA_VISIBLE_DEVICES": "-1"}, nvidia)
    assert sizing.cuda_devices_visible({"CUDA_VISIBLE_DEVICES": "1"}, nvidia)
    one = resources(gpus_per_job=1)
    assert sizing.job_gpus(one, local=True, devices=False) == 0  # a CPU-only workstation
    assert sizing.job_gpus(one, local=True, devices=True) == 1
    assert sizing.job_gpus(one, local=False, devices=False) == 1  # a cluster: where the job runs decides
    assert sizing.job_gpus(resources(gpus_per_job=0), local=True, devices=True) == 0


def test_threads_zero_means_the_cores_snakemake_gives():
    assert sizing.job_threads(0, local=True, cores=2) == 2
    assert sizing.job_threads(0, local=True, cores=None) == 1  # a dry run without --cores
    assert sizing.job_threads(0, local=False, cores=64) == 1  # a cluster: say how many
    assert sizing.job_threads(3, local=True, cores=2) == 3  # as configured (Snakemake caps it at --cores)


def test_a_single_training_job_gets_every_core_by_default(tmp_path):
    from tests.helpers.workflow import snakemake, tiny_config

    config = tiny_config(tmp_path)  # no threads key: the schema's default, 0
    proc = snakemake(
        tmp_path, "-n", "results/stl/gene_demo_a/ablation_0.0/seed_1/metrics.json", config=config, quiet=False
    )
    block = proc.stdout.split("rule train_stl:")[1].split("\n\n")[0]
    assert "threads: 2" in block, block  # the --cores 2 the helper gives
