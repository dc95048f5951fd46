import random

import pytest
import torch

from mtlner.training.model import MultiTaskTagger
from mtlner.training.loop import TrainConfig, length_batches, plan_epoch, round_robin, train
from mtlner.training.job import training_scores

from tests.helpers.training import demo_task


def test_round_robin_takes_one_batch_per_task_in_turn():
    per_task = {"a": ["a1", "a2", "a3"], "b": ["b1"], "c": ["c1", "c2"]}
    plan = round_robin(per_task)
    assert [batch for _, batch in plan] == ["a1", "b1", "c1", "a2", "c2", "a3"]
    assert [task for task, _ in plan] == ["a", "b", "c", "a", "c", "a"]


def test_round_robin_upsampling_cycles_small_tasks():
    per_task = {"a": ["a1", "a2", "a3"], "b": ["b1"], "c": ["c1", "c2"]}
    plan = round_robin(per_task, upsample=True)
    assert [batch for _, batch in plan] == ["a1", "b1", "c1", "a2", "b1", "c2", "a3", "b1", "c1"]


def test_length_batches_cover_every_window_once_within_budget():
    rng = random.Random(3)
    lengths = [rng.randint(5, 120) for _ in range(300)]
    batches = length_batches(lengths, batch_size=16, max_tokens=512, rng=random.Random(1))
    flat = sorted(i for b in batches for i in b)
    assert flat == list(range(300))
    for b in batches:
        assert len(b) <= 16
        assert max(lengths[i] for i in b) * len(b) <= 512 or len(b) == 1
    again = length_batches(lengths, batch_size=16, max_tokens=512, rng=random.Random(1))
    assert again == batches
    # bucketing keeps padding low: padded tokens within 25% of real tokens here
    padded = sum(max(lengths[i] for i in b) * len(b) for b in batches)
    assert padded < 1.25 * sum(lengths)


def test_each_training_window_is_seen_once_per_epoch(tokenizer):
    tasks = [demo_task("gene_demo_a", tokenizer, "gene"), demo_task("species_demo", tokenizer, "species")]
    plan = plan_epoch(tasks, TrainConfig(batch_size=4, max_tokens=256), random.Random(0))
    for t in tasks:
        seen = sorted(i for name, batch in plan if name == t.name for i in batch)
        assert seen == list(range(len(t.train)))
    # the first steps alternate between tasks
    assert [name for name, _ in plan[:4]] == ["gene_demo_a", "species_demo"] * 2


@pytest.mark.slow
def test_stl_training_learns_and_selects_best_dev_epoch(tokenizer, tmp_path):
    torch.manual_seed(0)
    task = demo_task("gene_demo_b", tokenizer, "gene")
    model = MultiTaskTagger.create("packaged:minilm", {task.name: "gene"})
    cfg = TrainConfig(epochs=2, lr=2e-4, batch_size=8, max_tokens=512, progress=False, checkpoint=False)
    result = training_scores(train(model, tokenizer, [task], cfg, tmp_path / "work"))
    dev_scores = [h["dev_selection_score"] for h in result["history"]]
    assert result["best_epoch"] == 1 + dev_scores.index(max(dev_scores))
    test = result["tasks"][task.name]["test"]
    assert test["word"]["f1"] > 0.5, test  # a majority-class (all O) tagger scores 0
    assert test["entity"]["gold"] > 0
    assert result["tasks"][task.name]["dev"]["word"]["f1"] == pytest.approx(max(dev_scores))


def test_stl_from_mtl_starts_from_the_mtl_encoder_weights(tmp_path, tokenizer):
    torch.manual_seed(0)
    mtl = MultiTaskTagger.create("packaged:minilm", {"a": "gene", "b": "species"})
    with torch.no_grad():  # make the MTL encoder differ from the pretrained one
        for p in mtl.encoder.parameters():
            p.add_(torch.randn_like(p) * 0.01)
    mtl.save(tmp_path / "model", tokenizer)
    stl = MultiTaskTagger.create(str(tmp_path / "model"), {"c": "cell_line"})
    pretrained = MultiTaskTagger.create("packaged:minilm", {"c": "cell_line"})
    mtl_state, stl_state = mtl.encoder.state_dict(), stl.encoder.state_dict()
    assert mtl_state.keys() == stl_state.keys()
    assert all(torch.equal(mtl_state[k], stl_state[k]) for k in mtl_state)
    assert not all(torch.equal(pretrained.encoder.state_dict()[k], stl_state[k]) for k in stl_state)
    assert list(stl.heads) == ["c"]  # fresh head for the new task only


def test_saved_model_loads_back_with_its_heads(tmp_path, tokenizer):
    model = MultiTaskTagger.create("packaged:minilm", {"a": "gene"})
    model.save(tmp_path / "m", tokenizer, extra={"kind": "mtl"})
    loaded, tok = MultiTaskTagger.load(tmp_path / "m")
    assert loaded.tasks == {"a": "gene"}
    assert torch.equal(loaded.heads["a"].weight, model.heads["a"].weight)
    assert tok.vocab_size == tokenizer.vocab_size


def test_fused_adamw_takes_the_same_steps_as_the_reference_loop():
    """train() uses the fused AdamW kernel on CPU too; it must match the per-tensor loop."""
    torch.manual_seed(0)
    shapes = [(300, 16), (16,), (4, 16)]
    start = [torch.randn(s) for s in shapes]
    grads = [[torch.randn(s) for s in shapes] for _ in range(5)]
    finals = []
    for fused in (False, True):
        params = [torch.nn.Parameter(p.clone()) for p in start]
        opt = torch.optim.AdamW(
            [{"params": params[:2], "weight_decay": 0.01}, {"params": params[2:], "weight_decay": 0.0}],
            lr=1e-3,
            fused=fused,
            foreach=False if not fused else None,
        )
        for step in grads:
            for p, g in zip(params, step):
                p.grad = g.clone()
            opt.step()
        finals.append([p.detach() for p in params])
    for ref, fused in zip(*finals):
        assert torch.allclose(ref, fused, rtol=1e-5, atol=1e-7)
        assert not torch.equal(ref, torch.zeros_like(ref))


def test_weight_decay_falls_on_matrices_and_embeddings_only():
    from mtlner.training.loop import build_optimizer

    model = MultiTaskTagger.create("packaged:minilm", {"a": "gene"})
    optimizer = build_optimizer(model, TrainConfig(weight_decay=0.01), torch.device("cpu"))
    decayed, plain = ({id(p) for p in g["params"]} for g in optimizer.param_groups)
    assert [g["weight_decay"] for g in optimizer.param_groups] == [0.01, 0.0]
    names = {id(p): n for n, p in model.named_parameters()}
    assert decayed | plain == set(names) and not decayed & plain
    assert all(names[i].endswith(("bias", "LayerNorm.weight")) for i in plain)
    assert any("word_embeddings" in names[i] for i in decayed) and any(names[i] == "heads.a.weight" for i in decayed)


@pytest.mark.parametrize("scheduler", ["constant", "linear"])
def test_schedules_warm_up_then_stay_constant_or_decay_to_zero(scheduler):
    from mtlner.training.loop import build_scheduler

    param = torch.nn.Parameter(torch.zeros(2))
    optimizer = torch.optim.AdamW([param], lr=1.0)
    schedule = build_scheduler(optimizer, TrainConfig(scheduler=scheduler, warmup_ratio=0.25), total_steps=8)
    lrs = []
    for _ in range(8):
        lrs.append(optimizer.param_groups[0]["lr"])
        optimizer.step()
        schedule.step()
    assert lrs[:3] == [0.0, 0.5, 1.0]  # linear warm-up over 2 of the 8 steps
    if scheduler == "constant":
        assert lrs[2:] == [1.0] * 6
    else:
        assert lrs[2:] == pytest.approx([1.0, 5 / 6, 4 / 6, 3 / 6, 2 / 6, 1 / 6])
    without_warmup = build_scheduler(
        torch.optim.AdamW([param], lr=1.0), TrainConfig(scheduler=scheduler), total_steps=8
    )
    assert without_warmup.get_last_lr() == [1.0]  # no warm-up: the first step takes the full rate
