import logging

import pytest
from tests.helpers import conll, five_sentences_two_blank_runs, write

from mtlner.data.corpus import read_conll, split_stats, write_conll
from mtlner.errors import UserError


def test_reads_documents_sentences_and_normalises_types(tmp_path):
    text = "-DOCSTART-\tO\n\n" + conll("IL-2/B-Gene induces/O p53/B-Gene ./O", "nothing/O here/O")
    # case variants of one type are that type; two different types are refused (test below)
    text += "\n-DOCSTART-\tO\n\n" + conll("TNF/B-GENE alpha/I-GENE")
    docs, report = read_conll(write(tmp_path / "train.tsv", text))
    assert len(docs) == 2
    assert [s.tokens for s in docs[0].sentences] == [["IL-2", "induces", "p53", "."], ["nothing", "here"]]
    assert docs[0].sentences[0].tags == ["B", "O", "B", "O"]
    assert docs[1].sentences[0].tags == ["B", "I"]
    assert docs[0].sentences[0].line == 3
    assert report.entity_types_seen == {"Gene": 2, "GENE": 1}
    assert report.documents_from == "docstart"


def test_iobes_is_converted_to_iob2(tmp_path):
    path = write(tmp_path / "t.tsv", conll("a/S-X b/O c/B-X d/I-X e/E-X"))
    docs, report = read_conll(path)
    assert docs[0].sentences[0].tags == ["B", "O", "B", "I", "I"]
    assert report.converted_iobes == 2


def test_i_without_b_is_repaired_with_a_warning(tmp_path, caplog):
    path = write(tmp_path / "t.tsv", conll("a/O b/I-X c/I-X", "d/I-X"))
    with caplog.at_level(logging.WARNING):
        docs, report = read_conll(path)
    assert docs[0].sentences[0].tags == ["O", "B", "I"]
    assert docs[0].sentences[1].tags == ["B"]
    assert report.repaired_i_without_b == 2
    assert f"{path}:2" in caplog.text


def test_space_separated_multi_column_lines_use_first_and_last(tmp_path):
    docs, _ = read_conll(write(tmp_path / "t.tsv", "Aspirin NN B-Chemical\nworks VBZ O\n"))
    assert docs[0].sentences[0].tokens == ["Aspirin", "works"]
    assert docs[0].sentences[0].tags == ["B", "O"]


@pytest.mark.parametrize(
    "text, message",
    [
        ("good\tO\nbad\n", "t.tsv:2: expected 'token<TAB>tag'"),
        ("good\tO\nbad\tX-Gene\n", "t.tsv:2: tag 'X-Gene' is not in the IOB2/IOBES scheme"),
        ("\n\n", "no sentences found (empty split)"),
    ],
)
def test_bad_input_names_file_and_line(tmp_path, text, message):
    with pytest.raises(UserError, match=message.replace("(", r"\(").replace(")", r"\)")):
        read_conll(write(tmp_path / "t.tsv", text))


def test_missing_file_and_non_utf8_are_clear_errors(tmp_path):
    with pytest.raises(UserError, match="does not exist"):
        read_conll(tmp_path / "nope.tsv")
    bad = tmp_path / "latin.tsv"
    bad.write_bytes("Stra\xdfe\tO\n".encode("latin-1"))
    with pytest.raises(UserError, match="not UTF-8"):
        read_conll(bad)


def test_write_then_read_round_trips(tmp_path):
    docs, _ = read_conll(write(tmp_path / "a.tsv", conll("x/B-A y/I-A z/O", "w/B-A")))
    write_conll(docs, tmp_path / "b.tsv", "gene")
    text = (tmp_path / "b.tsv").read_text()
    assert "x\tB-gene\ny\tI-gene\nz\tO" in text
    again, _ = read_conll(tmp_path / "b.tsv")
    assert [s.tags for s in again[0].sentences] == [s.tags for s in docs[0].sentences]


def test_mention_spans_and_stats(tmp_path):
    from mtlner.data.corpus import Sentence, TaggedDocument

    docs = [TaggedDocument([Sentence(["a", "b", "c", "a"], ["B", "I", "O", "B"]), Sentence(["a", "b"], ["B", "I"])])]
    stats = split_stats(docs)
    assert stats["mentions"] == 3
    assert stats["unique_mentions"] == 2  # "a b" twice, "a" once
    assert stats["tokens"] == 6
    assert stats["density"] == pytest.approx(0.5)
    # adjacent B B are two mentions; an I without a B is repaired to B on reading, so it is one too
    docs, _ = read_conll(write(tmp_path / "t.tsv", conll("x/B-G y/B-G z/I-G w/O", "u/I-G v/I-G q/O")))
    assert split_stats(docs)["mentions"] == 3


def test_byte_order_mark_is_not_part_of_the_first_token(tmp_path):
    from mtlner.data.corpus import read_conll

    path = tmp_path / "bom.tsv"
    path.write_bytes("\ufeff-DOCSTART-\tO\n\nIL-2\tB-Gene\nbinds\tO\n".encode("utf-8"))
    docs, _ = read_conll(path)
    assert len(docs) == 1
    assert docs[0].sentences[0].tokens == ["IL-2", "binds"]
    assert docs[0].sentences[0].tags == ["B", "O"]


def test_entity_type_spellings_meet_in_one_group_with_a_warning():
    from mtlner.data.corpus import normalise_entity_type, normalise_entity_types

    assert normalise_entity_type(" Cell line ") == normalise_entity_type("cell-line") == "cell_line"
    types, warnings = normalise_entity_types({"a": "Gene", "b": "gene", "c": "species"})
    assert types == {"a": "gene", "b": "gene", "c": "species"}
    assert len(warnings) == 1 and "'Gene'" in warnings[0] and "'gene'" in warnings[0]
    assert normalise_entity_types({"a": "gene", "b": "species"})[1] == []


# --------------------------------------------------------------------------- hostile input, as a class


def test_two_entity_types_in_one_file_are_refused_naming_types_counts_and_line(tmp_path):
    text = conll("aspirin/B-Chemical and/O ibuprofen/B-Chemical", "cause/O ulcers/B-Disease", "x/B-chemical")
    path = write(tmp_path / "train.tsv", text)
    with pytest.raises(UserError) as err:
        read_conll(path)
    message = str(err.value)
    assert str(path) in message and "2 entity types" in message
    assert "Chemical/chemical (3 mentions, first at line 1)" in message
    assert "Disease (1 mention, first at line 6)" in message
    assert "tasks.<name>.entity" in message  # what to do


def test_spelling_variants_of_one_type_are_one_type(tmp_path):
    docs, report = read_conll(write(tmp_path / "t.tsv", conll("a/B-gene b/B-Gene c/B-GENE d/I-GENE")))
    assert docs[0].sentences[0].tags == ["B", "B", "B", "I"]
    assert report.entity_types_seen == {"gene": 1, "Gene": 1, "GENE": 1}


@pytest.mark.parametrize("inside", ["\x85", "\u2028", "\u2029", "\x0c", "\x0b", "\x1e", "\ufeff", "\x00", "\u200b"])
def test_lines_end_at_newline_only_and_odd_characters_stay_in_the_token(tmp_path, caplog, inside):
    path = write(tmp_path / "t.tsv", f"IL{inside}2\tB-Gene\r\nbinds\tO\r\n\r\nx\tO\n")
    with caplog.at_level(logging.WARNING):
        docs, _ = read_conll(path)
    assert [s.tokens for s in docs[0].sentences] == [[f"IL{inside}2", "binds"], ["x"]]
    assert [s.line for s in docs[0].sentences] == [1, 4]
    assert f"{path}:1: token" in caplog.text and "kept as one token" in caplog.text


@pytest.mark.parametrize("space", ["\u00a0", "\u2009", "\u202f", "\u3000"])
def test_a_unicode_space_in_a_space_separated_token_keeps_the_token_whole(tmp_path, caplog, space):
    path = write(tmp_path / "t.tsv", f"Aspirin NN B-Chemical\n10{space}mg  CD   O\nworks VBZ O\n")
    with caplog.at_level(logging.WARNING):
        docs, report = read_conll(path)
    assert docs[0].sentences[0].tokens == ["Aspirin", f"10{space}mg", "works"]
    assert docs[0].sentences[0].tags == ["B", "O", "O"]
    assert f"{path}:2: token" in caplog.text
    assert any("SPACE" in w for w in report.warnings)  # the character is named


def test_many_odd_tokens_name_five_lines_then_a_total(tmp_path):
    path = write(tmp_path / "t.tsv", "".join(f"a\u00a0{i}\tO\n" for i in range(8)) + "b\tB-X\n")
    _, report = read_conll(path)
    assert len(report.warnings) == 6 and report.warnings[-1].endswith(
        "8 tokens with unusual whitespace or control characters in total"
    )


@pytest.mark.parametrize(
    "marker, doc_id",
    [
        ("-DOCSTART-", ""),
        ("-DOCSTART-\tO", ""),
        ("-DOCSTART-\tPMID123\tO", "PMID123"),  # the demo's (and write_conll's) form
        ("-DOCSTART- -X- -X- O", ""),  # CoNLL-2003: a placeholder, not an ID
        ("-DOCSTART- -X- O O", ""),
    ],
)
def test_docstart_variants_with_and_without_ids(tmp_path, marker, doc_id):
    text = f"{marker}\n\n" + conll("a/B-X b/O") + f"\n{marker}\n\n" + conll("c/O d/B-X")
    docs, report = read_conll(write(tmp_path / "t.tsv", text))
    assert [d.doc_id for d in docs] == [doc_id, doc_id]
    assert [s.tokens for d in docs for s in d.sentences] == [["a", "b"], ["c", "d"]]
    assert report.documents_from == "docstart" and report.docstart_lines == 2


def test_a_file_without_document_markers_is_one_document_with_a_warning(tmp_path, caplog):
    from mtlner.data.corpus import NO_DOCUMENTS

    path = write(tmp_path / "t.tsv", five_sentences_two_blank_runs())
    with caplog.at_level(logging.WARNING):
        docs, report = read_conll(path)
    assert len(docs) == 1 and len(docs[0].sentences) == 5
    assert report.documents_from == NO_DOCUMENTS
    assert "no -DOCSTART- lines" in caplog.text and "documents:" in caplog.text


def test_documents_by_blank_lines_and_by_sentences(tmp_path):
    path = write(tmp_path / "t.tsv", five_sentences_two_blank_runs())
    docs, report = read_conll(path, "blank_lines:2")
    assert [[s.tokens[0] for s in d.sentences] for d in docs] == [["a", "b"], ["c", "d"], ["e"]]
    assert report.documents_from == "blank_lines:2" and not report.warnings
    docs, _ = read_conll(path, "blank_lines:3")
    assert [[s.tokens[0] for s in d.sentences] for d in docs] == [["a", "b", "c", "d"], ["e"]]
    docs, report = read_conll(path, "sentences:2")
    assert [[s.tokens[0] for s in d.sentences] for d in docs] == [["a", "b"], ["c", "d"], ["e"]]
    assert report.documents_from == "sentences:2"
    # sentences:N cuts within -DOCSTART- documents, keeping their IDs
    text = "-DOCSTART-\tD1\tO\n\n" + conll("a/O", "b/O", "c/B-X") + "-DOCSTART-\tD2\tO\n\n" + conll("d/O")
    docs, _ = read_conll(write(tmp_path / "d.tsv", text), "sentences:2")
    assert [(d.doc_id, len(d.sentences)) for d in docs] == [("D1", 2), ("D1", 1), ("D2", 1)]


def test_blank_lines_that_never_run_long_enough_warn(tmp_path):
    _, report = read_conll(write(tmp_path / "t.tsv", conll("a/B-X", "b/O")), "blank_lines:2")
    assert any("no run of 2 blank lines" in w for w in report.warnings)


@pytest.mark.parametrize(
    "spec", ["blank_lines", "blank_lines:1", "sentences:0", "sentences:x", "docstart:2", "pages:3"]
)
def test_bad_boundaries_are_user_errors(tmp_path, spec):
    with pytest.raises(UserError, match="documents"):
        read_conll(write(tmp_path / "t.tsv", conll("a/B-X")), spec)


def test_a_split_without_mentions(tmp_path):
    from mtlner.data.corpus import check_mentions

    with pytest.raises(UserError, match=r"train.tsv: the train split holds no mention"):
        check_mentions("train", tmp_path / "train.tsv", 0)
    assert "dev split holds no mention" in check_mentions("dev", tmp_path / "dev.tsv", 0)
    assert "in the 3 documents that max_documents keeps" in check_mentions("test", "t.tsv", 0, kept=3)
    assert check_mentions("train", "t.tsv", 1) is None


def test_splits_of_one_task_tagging_different_types_are_refused(tmp_path):
    from mtlner.cli import build_parser, main
    from mtlner.data.prepare import prepare_job

    raw = tmp_path / "raw"
    write(raw / "train.tsv", conll("aspirin/B-Chemical works/O"))
    write(raw / "dev.tsv", conll("ibuprofen/B-chemical too/O"))  # the same type, spelt otherwise
    write(raw / "test.tsv", conll("ulcers/B-Disease hurt/O"))
    command = [
        "prepare",
        "--task",
        "t",
        "--entity",
        "chemical",
        "--input-dir",
        str(raw),
        "--out-dir",
        str(tmp_path / "o"),
    ]
    with pytest.raises(UserError, match=r"different entity types: .*train.tsv: chemical; .*test.tsv: disease"):
        prepare_job(build_parser().parse_args(command))
    assert not (tmp_path / "o").exists()  # nothing written
    write(raw / "test.tsv", conll("naproxen/B-CHEMICAL hurt/O"))
    assert main(command) == 0
