"""`mtlner train --cross-test`: an MTL job with MiniLM scores its heads on other same-type tasks'
test splits after its own test pass (the scoring itself: tests/unit/test_crosscorpus.py)."""

import json

from mtlner.cli import main

from tests.helpers import DEMO_CORPORA


def _windows(tmp_path, task):
    out = tmp_path / "windows" / task
    args = ["windows", "--corpus-dir", str(DEMO_CORPORA / task), "--encoder", "packaged:minilm", "--max-length", "64"]
    assert main(args + ["--out-dir", str(out)]) == 0
    return out


def test_train_cross_tests_an_mtl_jobs_heads_after_its_test_pass(tmp_path, capsys):
    a, b = _windows(tmp_path, "gene_demo_a"), _windows(tmp_path, "gene_demo_b")
    species = _windows(tmp_path, "species_demo")
    out = tmp_path / "job"
    common = ["train", "--init", "packaged:minilm", "--out-dir", str(out), "--max-steps", "2", "--max-tokens", "512"]
    common += ["--no-progress", "--no-checkpoint"]
    # a target of another type is refused before any training
    code = main(common + ["--task", f"gene_demo_a=gene={a}", "--cross-test", f"species_demo=species={species}"])
    assert code == 2 and "is a species task" in capsys.readouterr().err and not (out / "metrics.json").exists()

    # MTL on both gene tasks, each task cross-tested, plus a copy of gene_demo_a's test split under another name
    tasks = ["--task", f"gene_demo_a=Gene={a}", "--task", f"gene_demo_b=gene={b}", "--kind", "mtl"]
    cross = [
        "--cross-test",
        f"gene_demo_a=gene={a}",
        "--cross-test",
        f"gene_demo_b=gene={b / 'test.pt'}",
        "--cross-test",
        f"copy_of_a=gene={a}",
    ]
    assert main(common + tasks + cross) == 0
    metrics = json.loads((out / "metrics.json").read_text())
    rows = {(r["source"], r["target"]): r for r in metrics["cross_corpus"]}
    assert set(rows) == {
        ("gene_demo_b", "gene_demo_a"),
        ("gene_demo_a", "gene_demo_b"),
        ("gene_demo_a", "copy_of_a"),
        ("gene_demo_b", "copy_of_a"),
    }
    # the known answer: a head on its own task's test windows under another name scores what the test pass scored
    assert rows[("gene_demo_a", "copy_of_a")]["test"] == metrics["tasks"]["gene_demo_a"]["test"]
    assert rows[("gene_demo_b", "copy_of_a")]["test"] == rows[("gene_demo_b", "gene_demo_a")]["test"]
    assert rows[("gene_demo_a", "gene_demo_b")]["test_windows"] > 0
