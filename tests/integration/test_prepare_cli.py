"""`mtlner prepare` as the workflow runs it: a subprocess whose stderr is the job log
(the reader itself is tested in tests/unit/test_corpus.py)."""

import json
import subprocess
import sys

from tests.helpers import cli_env, conll, five_sentences_two_blank_runs, write


def test_prepare_records_where_documents_came_from_and_warns_in_the_job_log(tmp_path):
    raw = tmp_path / "raw"
    write(raw / "train.tsv", five_sentences_two_blank_runs())
    write(raw / "dev.tsv", "-DOCSTART-\tO\n\n" + conll("a/B-X", "b/O"))
    write(raw / "test.tsv", "-DOCSTART-\tO\n\n" + conll("a/O"))  # no mention: a warning, not an error

    def prepare(*extra):
        command = [sys.executable, "-m", "mtlner.cli", "prepare", "--task", "t", "--entity", "x"]
        command += ["--input-dir", str(raw), "--out-dir", str(tmp_path / "out"), *extra]
        return subprocess.run(command, capture_output=True, text=True, env=cli_env())

    done = prepare()
    assert done.returncode == 0, done.stderr
    assert "train.tsv: no -DOCSTART- lines, so the whole split (5 sentences) is one document" in done.stderr
    assert "test split holds no mention" in done.stderr
    stats = json.loads((tmp_path / "out" / "stats.json").read_text())
    assert stats["documents_from"] == {
        "train": "none: whole split is one document",
        "dev": "docstart",
        "test": "docstart",
    }
    assert stats["splits"]["train"]["documents"] == 1
    assert any("no -DOCSTART- lines" in w for w in stats["warnings"])
    assert stats["source"]["train"]["lines"] == "1,3,6,8,12"

    done = prepare("--documents", "blank_lines:2")
    assert done.returncode == 0 and "no -DOCSTART- lines" not in done.stderr
    stats = json.loads((tmp_path / "out" / "stats.json").read_text())
    assert stats["documents_from"]["train"] == "blank_lines:2" and stats["splits"]["train"]["documents"] == 3

    write(raw / "train.tsv", conll("a/O b/O"))
    done = prepare()
    assert done.returncode == 2 and "train.tsv: the train split holds no mention" in done.stderr
    assert "Traceback" not in done.stderr
