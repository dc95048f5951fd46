import logging

import pytest
from conftest import conll, write

from mtlner.corpus import read_conll, split_stats, write_conll
from mtlner.errors import UserError


def test_reads_documents_sentences_and_normalises_types(tmp_path):
    text = "-DOCSTART-\tO\n\n" + conll("IL-2/B-Gene induces/O p53/B-Gene ./O", "nothing/O here/O")
    text += "\n-DOCSTART-\tO\n\n" + conll("HeLa/B-CL cells/I-CL")
    docs, report = read_conll(write(tmp_path / "train.tsv", text))
    assert len(docs) == 2
    assert [s.tokens for s in docs[0].sentences] == [["IL-2", "induces", "p53", "."], ["nothing", "here"]]
    assert docs[0].sentences[0].tags == ["B", "O", "B", "O"]
    assert docs[1].sentences[0].tags == ["B", "I"]
    assert docs[0].sentences[0].line == 3
    assert report.entity_types_seen == {"Gene": 2, "CL": 1}


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
    from mtlner.corpus import Sentence, TaggedDocument

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
    from mtlner.corpus import read_conll

    path = tmp_path / "bom.tsv"
    path.write_bytes("\ufeff-DOCSTART-\tO\n\nIL-2\tB-Gene\nbinds\tO\n".encode("utf-8"))
    docs, _ = read_conll(path)
    assert len(docs) == 1
    assert docs[0].sentences[0].tokens == ["IL-2", "binds"]
    assert docs[0].sentences[0].tags == ["B", "O"]


def test_entity_type_spellings_meet_in_one_group_with_a_warning():
    from mtlner.corpus import normalise_entity_type, normalise_entity_types

    assert normalise_entity_type(" Cell line ") == normalise_entity_type("cell-line") == "cell_line"
    types, warnings = normalise_entity_types({"a": "Gene", "b": "gene", "c": "species"})
    assert types == {"a": "gene", "b": "gene", "c": "species"}
    assert len(warnings) == 1 and "'Gene'" in warnings[0] and "'gene'" in warnings[0]
    assert normalise_entity_types({"a": "gene", "b": "species"})[1] == []
