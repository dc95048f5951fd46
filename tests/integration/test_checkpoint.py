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

import mtlner.training.loop as T
from mtlner.cli import main
from mtlner.errors import UserError
from mtlner.training.model import MultiTaskTagger
from mtlner.training.loop import Checkpoint, TrainConfig, TrainState, train
from mtlner.training.job import training_scores

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
    assert isinstance(error, T.Preempted) and "no checkpoint (checkpoint is off); a rerun of this job" in str(error)
    assert "starts it over" in str(error) and "resume" not in str(error)
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
    with caplog.at_level(logging.WARNING, logger="mtlner.training.loop"):
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
        with caplog.at_level(logging.INFO, logger="mtlner.training.loop"):
            return train(model, tokenizer, [task], cfg, work, init="packaged:minilm"), caplog.text

    # a minute passes at every reading: after each step and at each epoch end
    full, _ = run(tmp_path / "full", FakeClock(tick=60.0))
    readings = 6 + 2  # 6 steps, 2 epoch ends
    assert 2 <= len(writes) < readings, writes
    assert all(later[0] - earlier[0] >= 150 for earlier, later in zip(writes, writes[1:])), writes
    scores = training_scores(full)
    assert scores["checkpoint_count"] == len(writes) and scores["checkpoint_seconds"] > 0
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
    assert _comparable(training_scores(resumed)) == _comparable(training_scores(full))
    assert resumed.predictions == full.predictions
    assert "_predictions" not in training_scores(full)  # metrics and predictions are kept apart


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


@pytest.mark.slow
@pytest.mark.parametrize(
    "signal_pass, where", [(1, "in epoch 1 after step 2"), (2, "in the test pass")], ids=["dev", "test"]
)
def test_sigterm_during_an_evaluation_stops_after_that_batch_and_a_rerun_resumes(
    signal_pass, where, tokenizer, tmp_path, monkeypatch, caplog
):
    """SIGTERM in the dev pass of an epoch (pass 1) or in the test pass (pass 2) stops the job
    after the batch at hand, not after the whole pass, with a checkpoint; the rerun ends where an
    uninterrupted run does, and one stopped in the test pass only scores the test split again."""
    import signal

    task = demo_task("species_demo", tokenizer, "species", limit=8)  # 2 steps an epoch
    cfg = TrainConfig(epochs=1, batch_size=4, max_tokens=512, eval_max_tokens=64, lr=1e-4, progress=False)
    cfg.checkpoint_minutes = 60.0  # no periodic checkpoint: the one on disk is SIGTERM's
    real_predict = T.predict_windows
    seen = {"signal_at": 0, "batches": []}  # the pass number of every evaluation batch

    def predict(*args, progress, **kwargs):
        number = 1 + len(set(seen["batches"]))

        def batch_done(n):
            seen["batches"].append(number)
            if number == seen["signal_at"] and seen["batches"].count(number) == 1:
                os.kill(os.getpid(), signal.SIGTERM)  # in the first batch of that pass
            progress(n)

        return real_predict(*args, progress=batch_done, **kwargs)

    def run(work, signal_at=0):
        seen.update(signal_at=signal_at, batches=[])
        torch.manual_seed(0)
        model = MultiTaskTagger.create("packaged:minilm", {task.name: task.entity})
        caplog.clear()
        with caplog.at_level(logging.INFO, logger="mtlner.training.loop"):
            return train(model, tokenizer, [task], cfg, work, init="packaged:minilm"), caplog.text

    monkeypatch.setattr(T, "predict_windows", predict)
    full, _ = run(tmp_path / "full")
    assert seen["batches"].count(1) > 1 and seen["batches"].count(2) > 1  # passes of several batches

    with pytest.raises(T.Preempted) as stopped:
        run(tmp_path / "stopped", signal_at=signal_pass)
    assert seen["batches"][-1] == signal_pass and seen["batches"].count(signal_pass) == 1  # after that batch
    message = str(stopped.value)
    assert message.startswith(f"stopped by SIGTERM {where}") and "resumes from it" in message, message
    assert "starts" not in message and (tmp_path / "stopped" / "checkpoint.pt").is_file()

    resumed, log_text = run(tmp_path / "stopped")
    assert "resuming from" in log_text
    assert _comparable(training_scores(resumed)) == _comparable(training_scores(full))
    assert resumed.predictions == full.predictions
    if signal_pass == 2:
        assert set(seen["batches"]) == {1}  # the rerun's only pass: the test split, no step, no dev pass


def test_a_checkpoint_that_cannot_be_written_is_a_warning_and_sigterm_says_what_a_rerun_does(
    tmp_path, monkeypatch, caplog
):
    """Disk full or over quota: training goes on (the next try after the interval), and the
    SIGTERM message says whether a rerun resumes from an older checkpoint or starts over."""
    import errno

    run, state = _tiny_run(), _state()
    checkpoint = Checkpoint(tmp_path, "fp", minutes=0)
    real_save = torch.save

    def disk_full(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(torch, "save", disk_full)
    with caplog.at_level(logging.WARNING, logger="mtlner.training.loop"):
        assert checkpoint.save(run, state) is False
    assert f"cannot write the checkpoint {checkpoint.path} (OSError: [Errno 28] No space left" in caplog.text
    assert state.checkpoint_count == 0 and not checkpoint.path.exists() and not list(tmp_path.glob(".tmp-*"))
    assert "could not be written; a rerun of this job" in str(error := checkpoint.preempted(run, state))
    assert str(error).endswith("starts it over")

    monkeypatch.setattr(torch, "save", real_save)
    assert checkpoint.save(run, state) is True and state.checkpoint_count == 1
    _step(run, state)
    monkeypatch.setattr(torch, "save", disk_full)
    message = str(checkpoint.preempted(run, state))  # SIGTERM one step later, and the disk is full
    assert message.endswith(f"resumes from {checkpoint.path}, of step 0"), message


def test_a_full_disk_while_writing_an_output_is_one_message(tmp_path, capsys, monkeypatch):
    import errno

    import mtlner.report.results

    target = tmp_path / "summary" / "metrics.csv"

    def disk_full(paths):
        raise OSError(errno.ENOSPC, "No space left on device", str(target))

    monkeypatch.setattr(mtlner.report.results, "collect_metrics", disk_full)
    rc = main(["collect", "--metrics", str(tmp_path / "m.json"), "--out", str(target)])
    err = capsys.readouterr().err
    assert rc == 2 and "Traceback" not in err
    assert f"mtlner collect: error: cannot write {target}: No space left on device" in err and "-> free" in err
