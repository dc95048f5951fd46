"""Raw -> IOB2 -> train/dev/test files, split assignment and the conversion report."""

import json

import pytest

from mtlner.errors import UserError
from mtlner.huner.build import build_task, format_conll, mentions, merge_cut_sentences, tag_document
from mtlner.huner.converters import Document, Span
from mtlner.huner.registry import load_registry
from mtlner.huner.splits import assign, read_split_ids


def test_mention_crossing_a_sentence_boundary_merges_the_sentences():
    text = "We used HeLa S. Cells grew. Then they died."
    start = text.index("HeLa")
    doc = Document("d", text, [Span(start, text.index(" Cells") + 6, "CL")])
    tagged, lost = tag_document(doc, {"CL": "cell_line"}, keep_source_sentences=False, keep_source_tokens=False)
    assert lost == 0
    assert [[tok for tok, _ in s] for s in tagged] == [
        ["We", "used", "HeLa", "S.", "Cells", "grew", "."], ["Then", "they", "died", "."]]
    assert [tag for _, tag in tagged[0]] == ["O", "O", "B-cell_line", "I-cell_line", "I-cell_line", "O", "O"]


def test_merge_cut_sentences_only_where_needed():
    sentences = [(0, 10), (11, 20), (21, 30), (31, 40)]
    assert merge_cut_sentences(sentences, [(15, 25, "x")]) == [(0, 10), (11, 30), (31, 40)]
    assert merge_cut_sentences(sentences, [(0, 5, "x")]) == sentences


def test_token_inside_mention_when_its_start_is_in_the_span_and_adjacent_mentions_stay_apart():
    text = "anti-p53 p53 MDM2"
    doc = Document("d", text, [Span(5, 8, "g"), Span(9, 12, "g"), Span(13, 17, "g")])
    tagged, lost = tag_document(doc, {"g": "gene"}, keep_source_sentences=False, keep_source_tokens=False)
    # "p53" inside "anti-p53": no token starts in it (HUNER's rule), so it is lost and counted
    assert tagged == [[("anti-p53", "O"), ("p53", "B-gene"), ("MDM2", "B-gene")]]
    assert lost == 1


def test_format_conll_docstart_and_blank_lines():
    text = format_conll([[[("A", "B-gene"), ("b", "O")]], [[("C", "O")], [("D", "O")]]])
    assert text == "-DOCSTART-\tO\n\nA\tB-gene\nb\tO\n\n-DOCSTART-\tO\n\nC\tO\n\nD\tO\n\n"


def test_mentions_surface_forms():
    assert mentions([[("a", "B-x"), ("b", "I-x"), ("c", "B-x"), ("d", "O"), ("e", "B-x")]]) == ["a b", "c", "e"]


def test_split_files_crlf_blank_lines_and_unsplit_documents(fixtures):
    ids = read_split_ids(fixtures / "splits", "cll")
    assert ids == {"train": ["PMC-100"], "dev": [], "test": ["PMID-200"]}
    per_split, report = assign(["PMID-300", "PMID-200", "PMC-100"], ids | {"dev": ["GONE"]})
    assert per_split == {"train": ["PMC-100"], "dev": [], "test": ["PMID-200"]}
    assert report["documents_in_no_split"] == 1 and report["documents_in_no_split_examples"] == ["PMID-300"]
    assert report["split_ids_without_document"] == 1


def test_document_in_two_splits_is_an_error(tmp_path):
    for part, content in [("train", "a\nb\n"), ("dev", "b\n"), ("test", "")]:
        (tmp_path / f"x.{part}").write_text(content)
    with pytest.raises(UserError, match=r"x.dev:1: document 'b' is also in the train split"):
        read_split_ids(tmp_path, "x")


def test_missing_split_file_names_it(tmp_path):
    with pytest.raises(UserError, match="missing HUNER split file .*x.train"):
        read_split_ids(tmp_path, "x")


def test_build_task_writes_three_files_and_report(fixtures, tmp_path):
    report = build_task("cellline_cll", load_registry(), fixtures / "cll", fixtures / "splits", tmp_path)
    assert (tmp_path / "train.tsv").read_text(encoding="utf-8") == (
        "-DOCSTART-\tO\n\n"
        "The\tO\nHeLa\tB-cell_line\nand\tO\nMCF\tB-cell_line\n-\tI-cell_line\n7\tI-cell_line\ncells\tO\n.\tO\n\n"
        "Growth\tO\nin\tO\nJurkat\tB-cell_line\n.\tO\n\n")
    assert (tmp_path / "dev.tsv").read_text() == ""
    assert (tmp_path / "test.tsv").read_text().startswith("-DOCSTART-\tO\n\nNo\tO\n")
    on_disk = json.loads((tmp_path / "conversion_report.json").read_text())
    assert on_disk == report
    assert report["documents"] == {"train": 1, "dev": 0, "test": 1}
    assert report["documents_in_no_split"] == 1  # PMID-300 is in no split file: counted
    assert report["mentions"]["train"] == {"total": 3, "unique": 3, "sentences": 2}


def test_build_two_tasks_from_one_corpus(fixtures, tmp_path):
    registry = load_registry()
    gene = build_task("gene_jnlpba", registry, fixtures / "jnlpba", fixtures / "splits", tmp_path / "g")
    cell = build_task("cellline_jnlpba", registry, fixtures / "jnlpba", fixtures / "splits", tmp_path / "c")
    assert gene["mentions"]["train"]["total"] == 1 and gene["mentions"]["test"]["total"] == 1
    assert cell["mentions"]["train"]["total"] == 0 and cell["mentions"]["test"]["total"] == 1


def test_build_without_documents_is_a_user_error(fixtures, tmp_path):
    with pytest.raises(UserError, match="no files match"):
        build_task("cellline_cll", load_registry(), tmp_path, fixtures / "splits", tmp_path / "out")
