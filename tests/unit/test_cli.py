"""The CLI reports user errors as one message (file, line or key, and what to do), exit 2."""

from tests.helpers import conll, write

from mtlner.cli import main


def _prepare_args(tmp_path) -> list[str]:
    """`mtlner prepare` of task t (gene) from tmp_path/in to tmp_path/out."""
    folders = ["--input-dir", str(tmp_path / "in"), "--out-dir", str(tmp_path / "out")]
    return ["prepare", "--task", "t", "--entity", "gene", *folders]


def _prepare(tmp_path, train_text):
    for split, text in (("train", train_text), ("dev", conll("a/O")), ("test", conll("b/O"))):
        write(tmp_path / "in" / f"{split}.tsv", text)
    return main(_prepare_args(tmp_path))


def test_malformed_line_stops_with_file_and_line(tmp_path, capsys):
    assert _prepare(tmp_path, "ok\tO\nbroken-line-without-tag\n") == 2
    err = capsys.readouterr().err
    assert f"{tmp_path / 'in' / 'train.tsv'}:2" in err
    assert "Traceback" not in err
    assert not (tmp_path / "out" / "stats.json").exists()  # nothing that looks complete


def test_good_corpus_writes_normalised_files_and_stats(tmp_path):
    assert _prepare(tmp_path, conll("IL-2/S-Protein binds/O")) == 0
    assert (tmp_path / "out" / "train.tsv").read_text().startswith("-DOCSTART-\tO\n\nIL-2\tB-gene\nbinds\tO\n")
    assert '"mentions": 1' in (tmp_path / "out" / "stats.json").read_text()


def test_unknown_encoder_is_named(tmp_path, capsys):
    write(tmp_path / "c" / "train.tsv", conll("a/O"))
    code = main(
        [
            "windows",
            "--corpus-dir",
            str(tmp_path / "c"),
            "--encoder",
            str(tmp_path / "no-such-encoder"),
            "--out-dir",
            str(tmp_path / "w"),
        ]
    )
    assert code == 2
    err = capsys.readouterr().err
    assert "no-such-encoder" in err and "Traceback" not in err


def test_missing_window_cache_says_which_rule_builds_it(tmp_path, capsys):
    code = main(
        ["train", "--task", f"t=gene={tmp_path}", "--init", "packaged:minilm", "--out-dir", str(tmp_path / "o")]
    )
    assert code == 2
    assert "window cache" in capsys.readouterr().err


def test_max_documents_keeps_the_first_documents_and_counts_them(tmp_path, capsys):
    import json

    three = "".join(f"-DOCSTART-\tO\n\n{conll(f'gene{i}/B-Gene x/O')}\n" for i in range(3))
    for split in ("train", "dev", "test"):
        write(tmp_path / "in" / f"{split}.tsv", three)
    args = _prepare_args(tmp_path)
    assert main(args + ["--max-documents", "train=2", "test=1"]) == 0
    stats = json.loads((tmp_path / "out" / "stats.json").read_text())
    assert [stats["splits"][s]["documents"] for s in ("train", "dev", "test")] == [2, 3, 1]
    assert stats["documents_before_limit"] == {"train": 3, "test": 3}
    assert "gene2" not in (tmp_path / "out" / "train.tsv").read_text()
    assert main(args + ["--max-documents", "train=0"]) == 2
    assert "must look like train=N" in capsys.readouterr().err
