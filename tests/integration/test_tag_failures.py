"""`mtlner tag` never loses its work and always says what is wrong (issue 10, part 5).

Every failure is one message (return code 2, no traceback) naming the file, found before any
tagging where it can be; the output file is either complete or absent, and an existing output
file survives a failed run. The model here is an untrained MiniLM whose gene head says ``B``
for every word, so any token that reaches the model becomes an entity: a token that is tagged
O shows that it was handled, not that the model happened to ignore it.
"""

import contextlib
import errno
import io
import json
import os
import re
import sys
import tempfile

import pytest
from bioc import biocxml

import mtlner.tag.writers as tag_writers
from mtlner.cli import main
from mtlner.errors import UserError
from mtlner.tag.pipeline import tag_files
from mtlner.tag.writers import check_output, xml_safe

from tests.helpers import write
from tests.helpers.models import BROKEN, copy_model

TEXT = "Knockdown of GAPDH in T47D cells abolished the effect of tamoxifen.\nMutations in BRCA1 were found.\n"
PREVIOUS = "an earlier run's output\n"
DASATINIB = "N-(2-chloro-6-methylphenyl)-2-[[6-[4-(2-hydroxyethyl)piperazin-1-yl]-2-methylpyrimidin-4-yl]amino]thiazole-5-carboxamide"


def run(args, capsys):
    code = main(["tag", *map(str, args)])
    err = capsys.readouterr().err
    assert "Traceback" not in err
    return code, err


def leftovers(folder):
    return [p.name for p in folder.iterdir() if p.name.startswith(".tmp-")]


# --------------------------------------------------------------------------- BioC and XML


def test_bioc_with_form_feeds_and_control_characters_is_written_with_offsets_kept(model_dir, tmp_path, capsys, caplog):
    text = "Knockdown of GAPDH in T47D cells.\f\nPage 2\x0b of BRCA1\x01x and p53.\n\x1b[0m done.\n"
    source = write(tmp_path / "pdf.txt", text)
    xml, jsonl = tmp_path / "out.xml", tmp_path / "out.jsonl"
    assert run(["--model", model_dir, source, "-o", xml, "--format", "bioc"], capsys)[0] == 0
    assert run(["--model", model_dir, source, "-o", jsonl], capsys)[0] == 0
    passage = biocxml.loads(xml.read_text(encoding="utf-8")).documents[0].passages[0]
    assert passage.text == xml_safe(text) and len(passage.text) == len(text)
    assert passage.text == text.replace("\f", " ").replace("\x0b", " ").replace("\x01", " ").replace("\x1b", " ")
    spans = set()
    for a in passage.annotations:
        loc = a.locations[0]
        assert (
            passage.text[loc.offset : loc.offset + loc.length]
            == a.text
            == xml_safe(text[loc.offset : loc.offset + loc.length])
        )
        spans.add((a.infons["task"], loc.offset, loc.offset + loc.length))
    found = {
        (e["task"], e["start"], e["end"])
        for line in jsonl.read_text().splitlines()
        for e in json.loads(line)["entities"]
    }
    assert spans == found and ("gene_demo_a", text.index("BRCA1"), text.index("BRCA1") + 7) in spans  # "BRCA1\x01x"
    assert (
        "4 characters that XML cannot hold (U+000C x1, U+000B x1, U+0001 x1, U+001B x1), in 1 of 1 documents, "
        "written as a space each"
    ) in caplog.text


def test_xml_safe_keeps_what_xml_allows():
    allowed = "tab\t lf\n cr\r \u00e9 \u2028 \ud7ff \ue000 \ufffd \U0001f600 \x7f \x85"
    assert xml_safe(allowed) == allowed
    assert xml_safe("a\x00b\x08c\x1fd\ufffee\uffff") == "a b c d e "


# --------------------------------------------------------------------------- output location


def test_output_under_a_file_is_refused_before_any_work(tmp_path, capsys):
    blocker = write(tmp_path / "notes.txt", "I am a file")
    # neither the model nor the input exists: the output is what is reported, so it was checked first
    code, err = run(
        ["--model", tmp_path / "no-model", tmp_path / "no-input.txt", "-o", blocker / "sub" / "out.jsonl"], capsys
    )
    assert code == 2
    assert f"cannot write {blocker / 'sub' / 'out.jsonl'}: {blocker} is a file, not a folder" in err
    assert "no-model" not in err and "no-input" not in err
    assert blocker.read_text() == "I am a file"


def test_output_that_is_a_folder_is_refused_and_the_folder_kept(model_dir, tmp_path, capsys):
    folder = tmp_path / "results"
    write(folder / "keep.txt", "precious")
    code, err = run(["--model", model_dir, write(tmp_path / "a.txt", TEXT), "-o", folder], capsys)
    assert code == 2 and f"output {folder} is a folder" in err and "tagged.jsonl" in err
    assert (folder / "keep.txt").read_text() == "precious"


def test_output_in_a_folder_that_cannot_be_written_is_refused_before_any_work(tmp_path, capsys, monkeypatch):
    def denied(*args, **kwargs):
        raise PermissionError(errno.EACCES, "Permission denied")

    monkeypatch.setattr(tempfile, "mkstemp", denied)  # what a read-only folder or mount does, even to root
    code, err = run(["--model", tmp_path / "no-model", tmp_path / "no-input.txt", "-o", tmp_path / "out.jsonl"], capsys)
    assert (
        code == 2
        and f"cannot write {tmp_path / 'out.jsonl'}: folder {tmp_path} is not writable (Permission denied)" in err
    )
    assert "no-model" not in err


@pytest.mark.skipif(os.geteuid() == 0, reason="root may write into a read-only folder")
def test_output_in_a_read_only_folder_is_refused(tmp_path, capsys):
    folder = tmp_path / "ro"
    folder.mkdir()
    folder.chmod(0o555)
    try:
        code, err = run(
            ["--model", tmp_path / "no-model", tmp_path / "x.txt", "-o", folder / "new" / "out.jsonl"], capsys
        )
    finally:
        folder.chmod(0o755)
    assert code == 2 and f"folder {folder} is not writable" in err


def test_missing_output_folders_are_created_at_the_end(model_dir, tmp_path, capsys):
    out = tmp_path / "new" / "deeper" / "out.jsonl"
    check_output(out)
    assert not (tmp_path / "new").exists()  # the check writes nothing
    assert run(["--model", model_dir, write(tmp_path / "a.txt", TEXT), "-o", out], capsys)[0] == 0
    assert len(out.read_text().splitlines()) == 2 and not leftovers(out.parent)


def test_output_that_is_an_input_is_refused(model_dir, tmp_path, capsys):
    source = write(tmp_path / "a.txt", TEXT)
    code, err = run(["--model", model_dir, source, "-o", tmp_path / "." / "a.txt"], capsys)
    assert code == 2 and "is also an input" in err and source.read_text() == TEXT


def test_a_failed_write_leaves_the_earlier_output_and_no_partial_file(model_dir, tmp_path, capsys, monkeypatch):
    real = tag_writers.atomic_path

    @contextlib.contextmanager
    def disk_full(path):
        with real(path) as tmp:
            tmp.write_text("half of it")
            raise OSError(errno.ENOSPC, "No space left on device")
            yield tmp  # pragma: no cover

    monkeypatch.setattr(tag_writers, "atomic_path", disk_full)
    out = write(tmp_path / "out.jsonl", PREVIOUS)
    code, err = run(["--model", model_dir, write(tmp_path / "a.txt", TEXT), "-o", out], capsys)
    assert code == 2 and f"cannot write {out}: No space left on device" in err
    assert out.read_text() == PREVIOUS and not leftovers(tmp_path)


# --------------------------------------------------------------------------- model folder


@pytest.mark.parametrize("case", list(BROKEN))
def test_every_model_folder_problem_is_one_message_naming_the_file(case, model_dir, tmp_path, capsys):
    mutate, part, message = BROKEN[case]
    broken = copy_model(model_dir, tmp_path / "model")
    mutate(broken)
    out = write(tmp_path / "out.jsonl", PREVIOUS)
    code, err = run(["--model", broken, write(tmp_path / "a.txt", TEXT), "-o", out], capsys)
    assert code == 2, err
    assert err.startswith("mtlner tag: error: ") and str(broken / part) in err
    assert re.search(message, err), err
    assert "\n  -> " in err  # and what to do
    assert out.read_text() == PREVIOUS and not leftovers(tmp_path)


def test_model_path_that_is_a_file_or_the_run_folder_is_explained(model_dir, tmp_path):
    source = write(tmp_path / "a.txt", TEXT)
    with pytest.raises(UserError, match="is a file, not a model folder"):
        tag_files(source, [source], tmp_path / "out.jsonl")
    run_folder = tmp_path / "seed_1"
    copy_model(model_dir, run_folder / "model")
    with pytest.raises(
        UserError, match=rf"model\.json is missing: .*\n  -> did you mean --model {run_folder / 'model'}\?"
    ):
        tag_files(run_folder, [source], tmp_path / "out.jsonl")
    assert not (tmp_path / "out.jsonl").exists()


def test_an_unknown_device_is_a_message(model_dir, tmp_path):
    with pytest.raises(UserError, match="unknown device 'gpu0'"):
        tag_files(model_dir, [write(tmp_path / "a.txt", TEXT)], tmp_path / "out.jsonl", device="gpu0")


# --------------------------------------------------------------------------- text it cannot tokenise


def test_runs_it_cannot_tokenise_are_tagged_o_with_a_warning_naming_file_and_offset(model_dir, tmp_path, caplog):
    run_1mb = "a" * 1_000_000
    dna = "ACGT" * 40  # 160 characters without punctuation: WordPiece reads them as one [UNK]
    hyphens = "-".join(["ab"] * 100)  # 299 characters, 199 subwords: more than a window of 128
    text = f"BRCA1 binds {run_1mb} and {dna} and {hyphens} or {DASATINIB} here."
    source = write(tmp_path / "pdf.txt", text)
    out = tmp_path / "out.jsonl"
    summary = tag_files(model_dir, [source], out)
    assert summary["untaggable_tokens"] == 3
    starts = {name: text.index(s) for name, s in (("run", run_1mb), ("dna", dna), ("hyphens", hyphens))}
    assert (
        f"{source}: the token at characters {starts['run']}-{starts['run'] + 1_000_000} ('aaaaaaaaaaaaaaaaaaaa...', "
        "1000000 characters) is longer than 1000 characters (--max-token-chars); tagged O"
    ) in caplog.text
    assert (
        f"{source}: the token at characters {starts['dna']}-{starts['dna'] + 160} ('ACGTACGTACGTACGTACGT...', 160 characters) "
        "has 160 characters the tokenizer reads as one unknown subword; tagged O"
    ) in caplog.text
    assert f"{source}: the token at characters {starts['hyphens']}-{starts['hyphens'] + 299} " in caplog.text
    assert "is longer than a window (199 subwords, a window holds 126); tagged O" in caplog.text
    [record] = [json.loads(line) for line in out.read_text().splitlines()]
    genes = [e["text"] for e in record["entities"] if e["task"] == "gene_demo_a"]
    assert genes == [
        "BRCA1",
        "binds",
        "and",
        "and",
        "or",
        DASATINIB,
        "here",
        ".",
    ]  # every other word; a long sensible one too
    assert max(len(e["text"]) for e in record["entities"]) == len(DASATINIB)
    for e in record["entities"]:
        assert text[e["start"] : e["end"]] == e["text"]


def test_many_untaggable_tokens_give_a_few_warnings_and_a_count(model_dir, tmp_path, capsys, caplog):
    text = "Start " + " ".join(f"{i}" + "x" * 40 for i in range(6)) + " end.\n"
    out = tmp_path / "out.conll"
    code, _ = run(
        [
            "--model",
            model_dir,
            write(tmp_path / "a.txt", text),
            "-o",
            out,
            "--format",
            "conll",
            "--max-token-chars",
            "30",
        ],
        capsys,
    )
    assert code == 0
    assert caplog.text.count("is longer than 30 characters (--max-token-chars); tagged O") == 3
    assert "a.txt: 3 more such tokens tagged O" in caplog.text
    assert "6 tokens could not be tokenised sensibly and were tagged O" in caplog.text
    rows = [line.split("\t") for line in out.read_text().splitlines()[2:] if line]
    assert [r[3] for r in rows] == ["B-gene"] + ["O"] * 6 + ["B-gene", "B-gene"]
    assert all(text[int(r[1]) : int(r[2])] == r[0] for r in rows)


# --------------------------------------------------------------------------- progress


class _Terminal(io.StringIO):
    def isatty(self):
        return True


@pytest.mark.parametrize("terminal, progress, shown", [(True, True, True), (True, False, False), (False, True, False)])
def test_progress_bar_only_on_a_terminal_and_not_with_no_progress(
    model_dir, tmp_path, monkeypatch, terminal, progress, shown
):
    stderr = _Terminal() if terminal else io.StringIO()
    monkeypatch.setattr(sys, "stderr", stderr)
    sources = [write(tmp_path / f"{i}.txt", TEXT) for i in range(3)]
    tag_files(model_dir, sources, tmp_path / "out.jsonl", progress=progress)
    assert ("window" in stderr.getvalue() and "tag" in stderr.getvalue()) == shown


def test_no_progress_flag_is_accepted(model_dir, tmp_path, capsys):
    code, err = run(
        ["--model", model_dir, write(tmp_path / "a.txt", TEXT), "-o", tmp_path / "o.jsonl", "--no-progress"], capsys
    )
    assert code == 0 and "window/s" not in err
