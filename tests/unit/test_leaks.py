"""Leak audit, warnings for MTL job logs and drop_leaks (mtlner.data.leaks) on toy corpora."""

import json
import logging

import pandas as pd
import pytest

from mtlner.cli import main
from mtlner.errors import UserError
from mtlner.data.leaks import audit, drop, warn
from mtlner.report.leak_audit import write_audit

from tests.helpers.leaks import doc as _doc
from tests.helpers.leaks import leak_corpora, leak_targets
from tests.helpers.leaks import prepare as _prepare
from tests.helpers.leaks import prepare_target as _prepare_target


@pytest.fixture
def corpora(tmp_path):
    return leak_corpora(tmp_path)


@pytest.fixture
def targets(tmp_path, corpora):
    return leak_targets(tmp_path)


def test_a_sentence_shared_between_tasks_and_duplicates_within_a_task_are_found(corpora):
    frame = audit(corpora).set_index(["task_a", "split_a", "task_b", "split_b"])
    between = frame.loc[("gene", "train", "species", "test")]
    assert (
        between["shared_sentences"] == 1 and between["scope"] == "between tasks"
    )  # case-folded: 'The mouse p53' = 'the MOUSE P53'
    assert between["sentences_b"] == 1 and between["share_b"] == pytest.approx(0.5)
    assert pd.isna(between["shared_documents"]) or between["shared_documents"] == 0  # p1 and s2 differ
    within = frame.loc[("gene", "train", "gene", "dev")]
    assert within["shared_sentences"] == 1 and within["scope"] == "within task"
    species = frame.loc[("species", "dev", "species", "test")]
    assert species["shared_sentences"] == 1 and species["shared_documents"] == 1  # 'Rats were fed .' and ID s2
    assert ("species", "train", "gene", "test") not in frame.index  # nothing shared: no row


def test_audit_writes_table_and_per_task_json_and_warns(corpora, tmp_path, caplog):
    with caplog.at_level(logging.WARNING, logger="mtlner.data.leaks"):
        frame = write_audit(corpora, tmp_path / "tables", tmp_path / "leaks")
    assert (tmp_path / "tables" / "leak_audit.csv").is_file()
    md = (tmp_path / "tables" / "leak_audit.md").read_text()
    assert md.startswith("# Leak audit") and "between tasks" in md and "None" not in md
    species = json.loads((tmp_path / "leaks" / "species.json").read_text())
    assert [(o["task_a"], o["split_b"]) for o in species["overlaps"]] == [
        ("gene", "test")
    ]  # dev/test duplicates are no training leak
    gene = json.loads((tmp_path / "leaks" / "gene.json").read_text())
    assert [(o["task_a"], o["split_b"]) for o in gene["overlaps"]] == [("gene", "dev")]
    assert "the test split of task species shares 1 sentences" in caplog.text
    assert len(frame) == 3


def test_warn_names_leaks_among_the_jobs_tasks_only(corpora, caplog):
    with caplog.at_level(logging.WARNING, logger="mtlner.data.leaks"):
        assert warn(corpora) == 2  # gene's training text in species' test split and in its own dev split
    assert (
        "the test split of task species shares 1 sentences (1 of its sentences, 50.0%) with the train split of task gene"
        in caplog.text
    )
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="mtlner.data.leaks"):
        assert warn({"species": corpora["species"]}) == 0  # a job without the gene task does not train on its text
    assert not caplog.text


def test_drop_leaks_removes_training_sentences_found_in_any_dev_or_test_split(corpora, tmp_path):
    out = {task: tmp_path / "clean" / task for task in corpora}
    summary = drop({task: (folder, out[task]) for task, folder in corpora.items()})
    assert summary["gene"]["dropped_sentences"] == 2  # the species test sentence and its own dev sentence
    assert summary["gene"]["by_eval_split"] == {"gene/dev": 1, "species/test": 1}
    assert summary["gene"]["dropped_mentions"] == 2 and summary["species"]["dropped_sentences"] == 0
    stats = json.loads((out["gene"] / "stats.json").read_text())
    assert stats["drop_leaks"]["train_sentences_before"] == 3 and stats["splits"]["train"]["sentences"] == 1
    assert stats["splits"]["train"]["documents"] == 1  # p2 lost its only sentence
    # the map to the user's lines follows the drop: the kept BRCA1 sentence is at line 9 of raw/gene/train.tsv
    assert stats["source"]["train"] == {"file": str((tmp_path / "raw/gene/train.tsv").resolve()), "lines": "9"}
    assert (out["gene"] / "test.tsv").read_text() == (corpora["gene"] / "test.tsv").read_text()
    assert "BRCA1" in (out["gene"] / "train.tsv").read_text() and "mouse" not in (out["gene"] / "train.tsv").read_text()
    # the audit of the cleaned corpora: no training text left in any evaluation split, the drop recorded
    frame = write_audit(out, tmp_path / "tables", tmp_path / "leaks").set_index(
        ["task_a", "split_a", "task_b", "split_b"]
    )
    row = frame.loc[("gene", "train", "species", "test")]
    assert row["shared_sentences"] == 0 and row["dropped_from_a"] == 1
    assert json.loads((tmp_path / "leaks" / "species.json").read_text())["overlaps"] == []


def test_conll2003_docstart_lines_carry_no_id_so_unrelated_tasks_share_no_documents(tmp_path):
    def doc(*tokens: str) -> str:  # CoNLL-2003 columns; its -X- marker column is a placeholder, not an ID
        rows = [f"{t.split('/')[0]} NN I-NP {t.split('/')[1]}" for t in tokens]
        return "-DOCSTART- -X- -X- O\n\n" + "\n".join(rows) + "\n"

    a = _prepare(
        tmp_path, "a", "gene", {"train": doc("p53/B-Gene", "binds/O"), "dev": doc("x/B-Gene"), "test": doc("y/B-Gene")}
    )
    b = _prepare(
        tmp_path, "b", "gene", {"train": doc("Ras/B-Gene", "is/O"), "dev": doc("u/B-Gene"), "test": doc("v/B-Gene")}
    )
    assert "-X-" not in (a / "train.tsv").read_text()
    frame = audit({"a": a, "b": b})
    assert frame.empty, frame  # nothing shared: no sentence, and no document ID "-X-"


def test_drop_leaks_refuses_to_empty_a_training_split(tmp_path):
    same = _doc("d", "a/O b/B-Gene ./O")
    folder = _prepare(tmp_path, "t", "gene", {"train": same, "dev": same, "test": _doc("e", "c/O ./O")})
    with pytest.raises(UserError, match="every training sentence of task t"):
        drop({"t": (folder, tmp_path / "out")})


def test_cli_audit_and_drop(corpora, tmp_path):
    specs = [arg for task, folder in corpora.items() for arg in ("--corpus", f"{task}={folder}")]
    assert main(["leaks", "audit", *specs, "--table-dir", str(tmp_path / "t"), "--json-dir", str(tmp_path / "j")]) == 0
    assert (tmp_path / "j" / "gene.json").is_file()
    specs = [
        arg for task, folder in corpora.items() for arg in ("--corpus", f"{task}={folder}={tmp_path / 'c' / task}")
    ]
    assert main(["leaks", "drop", *specs]) == 0
    assert json.loads((tmp_path / "c" / "gene" / "stats.json").read_text())["drop_leaks"]["dropped_sentences"] == 2
    assert main(["leaks", "drop", "--corpus", "gene"]) == 2  # a malformed spec is a user error


# --------------------------------------------------------------------------- cross-corpus targets


def test_a_targets_test_sentence_in_a_tasks_train_or_dev_split_is_reported(corpora, targets):
    frame = audit(corpora, targets=targets).set_index(["task_a", "split_a", "task_b", "split_b"])
    train = frame.loc[("gene", "train", "gene_eval", "test")]
    assert train["scope"] == "evaluation-only target" and train["shared_sentences"] == 1
    assert train["sentences_b"] == 1 and train["share_b"] == pytest.approx(1 / 3)
    assert pd.isna(train["shared_documents"]) or train["shared_documents"] == 0  # p1/p2 and e1 differ
    dev = frame.loc[("species", "dev", "gene_eval", "test")]  # any task's dev split, not only same-type ones
    assert dev["scope"] == "evaluation-only target" and dev["shared_sentences"] == 1
    target_rows = frame[frame["scope"] == "evaluation-only target"]
    assert sorted(target_rows.index) == [
        ("gene", "train", "gene_eval", "test"),
        ("species", "dev", "gene_eval", "test"),
    ]
    assert "species_eval" not in frame.index.get_level_values("task_b")  # shares nothing: no row
    # the tasks' own rows are those of the audit without targets
    assert frame[frame["scope"] != "evaluation-only target"].equals(
        audit(corpora).set_index(["task_a", "split_a", "task_b", "split_b"])
    )


def test_audit_writes_a_json_per_target_and_warns_about_its_overlaps(corpora, targets, tmp_path, caplog):
    with caplog.at_level(logging.WARNING, logger="mtlner.data.leaks"):
        frame = write_audit(corpora, tmp_path / "tables", tmp_path / "leaks", targets)
    assert len(frame) == 5  # the 3 rows between and within tasks, and 2 of gene_eval
    gene_eval = json.loads((tmp_path / "leaks" / "gene_eval.json").read_text())
    assert gene_eval["evaluation_only"] is True
    assert [(o["task_a"], o["split_a"]) for o in gene_eval["overlaps"]] == [("gene", "train"), ("species", "dev")]
    assert json.loads((tmp_path / "leaks" / "species_eval.json").read_text())["overlaps"] == []
    assert "evaluation_only" not in json.loads((tmp_path / "leaks" / "gene.json").read_text())
    assert (
        "the test split of evaluation-only cross-corpus target gene_eval shares 1 sentences (1 of its sentences, "
        "33.3%) with the train split of task gene" in caplog.text
    )
    assert "with the dev split of task species (dev splits select" in caplog.text
    assert "species_eval" not in caplog.text
    md = (tmp_path / "tables" / "leak_audit.md").read_text()
    assert "| gene | train | gene_eval | test | evaluation-only target | 1 |" in md


def test_warn_logs_the_leaks_into_the_targets_it_is_given(corpora, targets, tmp_path, caplog):
    # targets come as arguments (the rule's --target NAME=DIR): none given, none audited
    with caplog.at_level(logging.WARNING, logger="mtlner.data.leaks"):
        assert warn(corpora) == 2  # the 2 among the tasks only
    assert "cross-corpus target" not in caplog.text
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="mtlner.data.leaks"):
        assert warn(corpora, targets=targets) == 4  # the 2 among the tasks, and gene_eval's 2
    assert caplog.text.count("leak into a cross-corpus target this job scores") == 2
    assert "species_eval" not in caplog.text
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="mtlner.data.leaks"):  # a job training species only
        assert warn({"species": corpora["species"]}, targets={"gene_eval": targets["gene_eval"]}) == 1
    assert "with the dev split of task species" in caplog.text and "drop_leaks keeps dev splits whole" in caplog.text
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="mtlner.data.leaks"):  # a target that shares nothing
        assert warn({"species": corpora["species"]}, targets={"species_eval": targets["species_eval"]}) == 0
    assert not caplog.text


def test_drop_leaks_also_removes_training_sentences_found_in_a_targets_test_split(tmp_path):
    task = _prepare(tmp_path, "g", "gene", {
        "train": _doc("a", "Alpha/B-Gene binds/O ./O", "Beta/B-Gene folds/O ./O"),
        "dev": _doc("b", "Gamma/B-Gene rises/O ./O", "Delta/B-Gene falls/O ./O"),
        "test": _doc("c", "Eps/B-Gene ./O"),
    })  # fmt: skip
    target = _prepare_target(tmp_path, "t", "gene", _doc("d", "ALPHA/B-Gene binds/O ./O", "Delta/B-Gene falls/O ./O"))
    out = tmp_path / "clean" / "g"
    summary = drop({"g": (task, out)}, targets={"t": target})
    assert summary["g"]["dropped_sentences"] == 1 and summary["g"]["by_eval_split"] == {"t/test": 1}
    assert "Beta" in (out / "train.tsv").read_text() and "Alpha" not in (out / "train.tsv").read_text()
    assert (out / "dev.tsv").read_text() == (task / "dev.tsv").read_text()  # dev kept whole, 'Delta falls .' too
    frame = write_audit({"g": out}, tmp_path / "tables", tmp_path / "leaks", {"t": target})
    rows = frame.set_index(["task_a", "split_a", "task_b", "split_b"])
    assert rows.loc[("g", "train", "t", "test"), "shared_sentences"] == 0
    assert rows.loc[("g", "train", "t", "test"), "dropped_from_a"] == 1
    assert rows.loc[("g", "dev", "t", "test"), "shared_sentences"] == 1  # reported, not removed
    assert drop({"g": (task, tmp_path / "plain")})["g"]["dropped_sentences"] == 0  # without the target: nothing


def test_cli_audit_and_drop_with_targets(corpora, targets, tmp_path):
    specs = [arg for task, folder in corpora.items() for arg in ("--corpus", f"{task}={folder}")]
    specs += [arg for name, folder in targets.items() for arg in ("--target", f"{name}={folder}")]
    assert main(["leaks", "audit", *specs, "--table-dir", str(tmp_path / "t"), "--json-dir", str(tmp_path / "j")]) == 0
    assert json.loads((tmp_path / "j" / "gene_eval.json").read_text())["evaluation_only"] is True
    assert "evaluation-only target" in (tmp_path / "t" / "leak_audit.csv").read_text()
    # with gene_eval, drop would empty gene's train split (its 3 sentences are all in some evaluation split)
    specs = [
        arg for task, folder in corpora.items() for arg in ("--corpus", f"{task}={folder}={tmp_path / 'c' / task}")
    ]
    assert main(["leaks", "drop", *specs, "--target", f"species_eval={targets['species_eval']}"]) == 0
    assert main(["leaks", "drop", *specs, "--target", f"gene_eval={targets['gene_eval']}"]) == 2  # a user error
    assert (
        main(
            [
                "leaks",
                "audit",
                "--corpus",
                f"gene={corpora['gene']}",
                "--target",
                "x",
                "--table-dir",
                "t",
                "--json-dir",
                "j",
            ]
        )
        == 2
    )
