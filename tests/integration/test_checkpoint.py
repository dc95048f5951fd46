"""Checkpoints that cost little and still resume exactly: resumable state written on SIGTERM and
at most every ``checkpoint_minutes`` of training (a fake clock here), the best-dev weights kept
in host memory and carried inside the checkpoint; an unwritable output folder fails at once."""

from __future__ import annotations

import copy
import logging
import os
import random
import re

import pytest
import torch
from tests.helpers import without_keys

import mtlner.train as T
from mtlner.cli import main
from mtlner.errors import UserError
from mtlner.model import MultiTaskTagger
from mtlner.train import Checkpoint, TrainConfig, TrainState, train

from tests.helpers.training import demo_task


class Killed(BaseException):
    """Stands for SIGKILL: nothing after it runs, nothing in memory survives."""


class FakeClock:
    """Minutes pass only when asked: ``tick`` seconds at every reading, or set ``now`` by hand.
    With ``kill_at`` the reading of that number raises :class:`Killed`."""

    def __init__(self, tick: float = 0.0, kill_at: int | None = None):
        self.now, self.tick, self.kill_at, self.calls = 0.0, tick, kill_at, 0

    def __call__(self) -> float:
        self.calls += 1
        if self.kill_at is not None and self.calls >= self.kill_at:
            raise Killed
        self.now += self.tick
        return self.now


def _tiny_run(seed: int = 0) -> T.Run:
    torch.manual_seed(seed)
    model = torch.nn.Sequential(torch.nn.Linear(4, 3), torch.nn.LayerNorm(3))
    cfg = TrainConfig(lr=0.1, weight_decay=0.01)
    optimizer = T.build_optimizer(model, cfg, torch.device("cpu"))
    return T.Run(model, model, optimizer, T.build_scheduler(optimizer, cfg, 10), torch.device("cpu"), 0, cfg)


def _step(run: T.Run, state: TrainState) -> None:
    loss = run.model(torch.randn(2, 4)).pow(2).sum()
    run.optimizer.zero_grad()
    loss.backward()
    run.optimizer.step()
    run.scheduler.step()
    state.step += 1


def _weights(module: torch.nn.Module) -> dict[str, torch.Tensor]:
    return copy.deepcopy(module.state_dict())


def _same(a: dict, b: dict) -> bool:
    return a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


def _state() -> TrainState:
    return TrainState(plan_rng=random.Random(1).getstate())


def test_a_periodic_checkpoint_is_due_only_once_the_interval_has_passed(tmp_path, monkeypatch):
    clock = FakeClock()
    monkeypatch.setattr(T, "clock", clock)
    checkpoint = Checkpoint(tmp_path, "fp", enabled=True, minutes=10)  # the interval starts now (0 s)
    clock.now = 599.0
    assert not checkpoint.due() and not checkpoint.due(epoch_end=True)
    clock.now = 600.0
    assert checkpoint.due()
    run, state = _tiny_run(), _state()
    checkpoint.save(run, state)  # the interval starts again
    assert checkpoint.path.is_file() and state.checkpoint_count == 1 and state.checkpoint_seconds > 0
    clock.now = 1199.0
    assert not checkpoint.due(epoch_end=True)
    clock.now = 1200.0
    assert checkpoint.due()


def test_zero_minutes_means_every_epoch_end_and_off_means_nothing_at_all(tmp_path, monkeypatch):
    clock = FakeClock(tick=3600.0)  # an hour passes at every reading
    monkeypatch.setattr(T, "clock", clock)
    every_epoch = Checkpoint(tmp_path, "fp", enabled=True, minutes=0)
    assert not every_epoch.due() and every_epoch.due(epoch_end=True)

    run, state = _tiny_run(), _state()
    every_epoch.save(run, state)
    off = Checkpoint(tmp_path, "fp", enabled=False, minutes=0)
    assert not off.due() and not off.due(epoch_end=True)
    assert off.resume(_tiny_run(seed=1)) is None  # a checkpoint on disk is not even read
    every_epoch.path.unlink()
    error = off.preempted(run, state)
    assert isinstance(error, T.Preempted) and "checkpoint is off" in str(error)
    assert not every_epoch.path.exists() and state.checkpoint_count == 1


def test_the_best_weights_survive_a_resume_whether_or_not_they_are_the_models_own(tmp_path):
    run, state = _tiny_run(), _state()
    checkpoint = Checkpoint(tmp_path, "fp", minutes=0)
    _step(run, state)
    checkpoint.keep_best(run.model, state)
    best = _weights(run.model)
    checkpoint.save(run, state)  # no step since: the file notes that the model's weights are the best
    assert torch.load(checkpoint.path, weights_only=False)["best"] == "model"

    resumed, again = _tiny_run(seed=1), Checkpoint(tmp_path, "fp", minutes=0)
    assert again.resume(resumed).position == 1
    _step(resumed, TrainState(plan_rng=()))
    again.restore_best(resumed.model)
    assert _same(_weights(resumed.model), best)

    _step(run, state)
    _step(run, state)
    checkpoint.save(run, state)  # two steps later the best weights travel in the file
    latest = _weights(run.model)
    assert not _same(latest, best)
    resumed, again = _tiny_run(seed=2), Checkpoint(tmp_path, "fp", minutes=0)
    restored = again.resume(resumed)
    assert restored.position == 3 and restored.checkpoint_count == 2
    assert _same(_weights(resumed.model), latest)
    again.restore_best(resumed.model)
    assert _same(_weights(resumed.model), best)


@pytest.mark.parametrize("damage", ["truncated", "empty", "not_a_checkpoint"])
def test_a_damaged_checkpoint_is_ignored_with_a_warning_and_training_starts_over(tmp_path, caplog, damage):
    run, state = _tiny_run(), _state()
    checkpoint = Checkpoint(tmp_path, "fp", minutes=0)
    _step(run, state)
    checkpoint.save(run, state)
    data = checkpoint.path.read_bytes()
    if damage == "truncated":
        checkpoint.path.write_bytes(data[: len(data) // 2])
    elif damage == "empty":
        checkpoint.path.write_bytes(b"")
    else:
        torch.save([1, 2, 3], checkpoint.path)
    fresh = _tiny_run(seed=1)
    before = _weights(fresh.model)
    with caplog.at_level(logging.WARNING, logger="mtlner.train"):
        assert Checkpoint(tmp_path, "fp", minutes=0).resume(fresh) is None
    assert _same(_weights(fresh.model), before)  # nothing half-loaded
    assert f"ignoring {checkpoint.path}" in caplog.text


def _comparable(metrics: dict) -> dict:
    return without_keys(metrics, {"train_seconds", "eval_seconds", "checkpoint_seconds", "checkpoint_count"})


@pytest.mark.slow
def test_checkpoints_follow_the_clock_and_a_kill_between_them_resumes_identically(
    tokenizer, tmp_path, monkeypatch, caplog
):
    task = demo_task("species_demo", tokenizer, "species", limit=12)  # 12 windows, 3 steps an epoch
    cfg = TrainConfig(
        epochs=2, batch_size=4, max_tokens=512, lr=1e-4, progress=False, device="cpu", checkpoint_minutes=2.5
    )
    writes = []  # (clock reading that decided it, its number, steps taken) for every checkpoint written
    real_save = Checkpoint.save

    def recording_save(self, run, state):
        writes.append((T.clock.now, T.clock.calls, state.position))
        real_save(self, run, state)

    monkeypatch.setattr(Checkpoint, "save", recording_save)

    def run(work, clock):
        monkeypatch.setattr(T, "clock", clock)
        torch.manual_seed(0)
        model = MultiTaskTagger.create("packaged:minilm", {task.name: task.entity})
        caplog.clear()
        with caplog.at_level(logging.INFO, logger="mtlner.train"):
            return train(model, tokenizer, [task], cfg, work, init="packaged:minilm"), caplog.text

    # a minute passes at every reading: after each step and at each epoch end
    full, _ = run(tmp_path / "full", FakeClock(tick=60.0))
    readings = 6 + 2  # 6 steps, 2 epoch ends
    assert 2 <= len(writes) < readings, writes
    assert all(later[0] - earlier[0] >= 150 for earlier, later in zip(writes, writes[1:])), writes
    assert full["checkpoint_count"] == len(writes) and full["checkpoint_seconds"] > 0
    first, second = writes[:2]
    assert second[2] > first[2]  # steps were taken between the two

    # killed at the reading that would have written the second checkpoint: those steps are lost
    writes.clear()
    with pytest.raises(Killed):
        run(tmp_path / "killed", FakeClock(tick=60.0, kill_at=second[1]))
    assert [w[2] for w in writes] == [first[2]]
    on_disk = torch.load(tmp_path / "killed" / "checkpoint.pt", weights_only=False)
    assert TrainState(**on_disk["state"]).position == first[2] < 6

    # the rerun resumes from that checkpoint and ends exactly where the uninterrupted run did
    resumed, log_text = run(tmp_path / "killed", FakeClock(tick=60.0))
    saved = TrainState(**on_disk["state"])
    assert f"at epoch {saved.epoch + 1} step {saved.step}" in log_text, log_text
    assert _comparable(resumed.metrics) == _comparable(full.metrics)
    assert resumed.predictions == full.predictions
    assert "_predictions" not in full.metrics  # metrics and predictions are kept apart


def test_an_unwritable_output_folder_fails_before_any_training(tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    work = blocker / "work"
    with pytest.raises(UserError, match=re.escape(f"output folder {work} is not writable")):
        train(None, None, [], TrainConfig(), work)  # before the model, the data or a step is touched


def test_the_train_command_names_an_unwritable_output_folder(tmp_path, capsys):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    out = blocker / "run"
    rc = main(
        ["train", "--task", f"t=gene={tmp_path / 'no-windows'}", "--init", "packaged:minilm", "--out-dir", str(out)]
    )
    assert rc == 2
    assert f"output folder {out} is not writable" in capsys.readouterr().err


@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() == 0, reason="root may write into a read-only folder")
def test_a_read_only_output_folder_fails_before_any_training(tmp_path):
    folder = tmp_path / "read-only"
    folder.mkdir()
    folder.chmod(0o555)
    try:
        with pytest.raises(UserError, match="is not writable"):
            train(None, None, [], TrainConfig(), folder)
    finally:
        folder.chmod(0o755)
