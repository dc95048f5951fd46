"""Raw -> IOB2 -> train/dev/test files, split assignment and the conversion report."""

import json

import pytest

from mtlner.errors import UserError
from mtlner.data.huner.build import build_task, format_conll, mentions, merge_cut_sentences, tag_document
from mtlner.data.huner.converters import Document, Span
from mtlner.data.huner.registry import load_registry
from mtlner.data.huner.splits import assign, read_split_ids


def test_mention_crossing_a_sentence_boundary_merges_the_sentences():
    text = "We used HeLa S. Cells grew. Then they died."
    start = text.index("HeLa")
    doc = Document("d", text, [Span(start, text.index(" Cells") + 6, "CL")])
    tagged, lost = tag_document(doc, {"CL": "cell_line"}, keep_source_sentences=False, keep_source_tokens=False)
    assert lost == 0
    assert [[tok for tok, _ in s] for s in tagged] == [
        ["We", "used", "HeLa", "S.", "Cells", "grew", "."],
        ["Then", "they", "died", "."],
    ]
    assert [tag for _, tag in tagged[0]] == ["O", "O", "B-cell_line", "I-cell_line", "I-cell_line", "O", "O"]


def test_merge_cut_sentences_only_where_needed():
    sentences = [(0, 10), (11, 20), (21, 30), (31, 40)]
    assert merge_cut_sentences(sentences, [(15, 25, "x")]) == [(0, 10), (11, 30), (31, 40)]
    assert merge_cut_sentences(sentences, [(0, 5, "x")]) == sentences


def test_token_inside_mention_when_its_start_is_in_the_span_and_adjacent_mentions_stay_apart():
    text = "anti-p53 p53 MDM2"
    doc = Document("d", text, [Span(5, 8, "g"), Span(9, 12, "g"), Span(13, 17, "g")])
    tagged, lost = tag_document(
        doc, {"g": "gene"}, keep_source_sentences=False, keep_source_tokens=False, mention_boundaries="huner"
    )
    # HUNER's rule with whole words: no token starts in "p53" of "anti-p53", so it is lost and counted
    assert tagged == [[("anti-p53", "O"), ("p53", "B-gene"), ("MDM2", "B-gene")]]
    assert lost == 1
    # default: the word is cut where the mention starts, and the mention survives
    tagged, lost = tag_document(doc, {"g": "gene"}, keep_source_sentences=False, keep_source_tokens=False)
    assert tagged == [[("anti-", "O"), ("p53", "B-gene"), ("p53", "B-gene"), ("MDM2", "B-gene")]]
    assert lost == 0


def test_mentions_inside_a_slash_word_become_their_own_tokens():
    text = "c-Fos/c-Jun binds HindIII-EcoRI sites."
    spans = [Span(0, 5, "g"), Span(6, 11, "g"), Span(18, 25, "g"), Span(26, 31, "g")]
    doc = Document("d", text, spans)
    tagged, lost = tag_document(doc, {"g": "gene"}, keep_source_sentences=False, keep_source_tokens=False)
    assert tagged == [
        [
            ("c-Fos", "B-gene"),
            ("/", "O"),
            ("c-Jun", "B-gene"),
            ("binds", "O"),
            ("HindIII", "B-gene"),
            ("-", "O"),
            ("EcoRI", "B-gene"),
            ("sites", "O"),
            (".", "O"),
        ]
    ]
    assert lost == 0 and mentions(tagged) == ["c-Fos", "c-Jun", "HindIII", "EcoRI"]
    # as HUNER (OpenNLP kept these words whole): the first mention takes the word, the second is lost
    tagged, lost = tag_document(
        doc, {"g": "gene"}, keep_source_sentences=False, keep_source_tokens=False, mention_boundaries="huner"
    )
    assert mentions(tagged) == ["c-Fos/c-Jun", "HindIII-EcoRI"] and lost == 2


def test_source_tokens_are_never_cut():
    text = "IL-2R alpha"
    doc = Document("d", text, [Span(0, 4, "g")], [(0, len(text))], pretokenised=True)
    tagged, _ = tag_document(doc, {"g": "gene"}, keep_source_sentences=True, keep_source_tokens=True)
    assert tagged == [[("IL-2R", "B-gene"), ("alpha", "O")]]


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
        "Growth\tO\nin\tO\nJurkat\tB-cell_line\n.\tO\n\n"
    )
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


def duplicates_registry(policy=None) -> dict:
    """The packaged registry plus a corpus whose documents are named after their file, read
    from two folders: ``a/doc1.conll`` and ``b/doc1.conll`` give the same document ID."""
    registry = load_registry()
    registry["corpora"]["dupes"] = dict(
        registry["corpora"]["cll"],
        format="iob_columns",
        options={"glob": "*/*.conll", "token_column": 0, "tag_column": 1, "doc_id_strip": ".conll"},
    )
    if policy:
        registry["corpora"]["dupes"]["duplicate_ids"] = policy
    registry["tasks"]["gene_dupes"] = {"corpus": "dupes", "entity": "gene", "split": "dupes", "types": {"G": "gene"}}
    return registry


@pytest.fixture
def dupes_splits(tmp_path):
    for part, ids in (("train", "doc1\ndoc2\n"), ("dev", ""), ("test", "")):
        (tmp_path / f"dupes.{part}").write_text(ids)
    return tmp_path


def test_identical_copies_of_a_document_are_counted_and_kept_once(fixtures, dupes_splits, tmp_path):
    report = build_task(
        "gene_dupes", duplicates_registry(), fixtures / "duplicates" / "same", dupes_splits, tmp_path / "out"
    )
    assert report["duplicate_documents"] == 1 and report["duplicate_documents_examples"] == ["doc1"]
    assert report["documents"]["train"] == 2
    assert report["mentions"]["train"]["total"] == 2  # p53 once (not twice) and MDM2
    assert (tmp_path / "out" / "train.tsv").read_text().count("p53") == 1


def test_differing_copies_of_a_document_are_an_error_naming_both_files(fixtures, dupes_splits, tmp_path):
    folder = fixtures / "duplicates" / "differ"
    with pytest.raises(UserError) as error:
        build_task("gene_dupes", duplicates_registry(), folder, dupes_splits, tmp_path / "out")
    message = str(error.value)
    assert "document ID 'doc1' occurs twice with different content" in message
    assert str(folder / "a" / "doc1.conll") in message and str(folder / "b" / "doc1.conll") in message


def test_merge_policy_concatenates_same_id_documents_as_huner(fixtures, dupes_splits, tmp_path):
    report = build_task(
        "gene_dupes", duplicates_registry("merge"), fixtures / "duplicates" / "differ", dupes_splits, tmp_path / "out"
    )
    assert report["duplicate_documents"] == 1 and report["duplicate_ids"] == "merge"
    assert report["documents"]["train"] == 1 and report["mentions"]["train"]["total"] == 2
    assert (tmp_path / "out" / "train.tsv").read_text() == (
        "-DOCSTART-\tO\n\np53\tB-gene\nbinds\tO\n.\tO\n\nMDM2\tB-gene\nacts\tO\n.\tO\n\n"
    )


def test_corpora_whose_ids_huner_grouped_merge_them():
    # mirna, chebi, fsu: converted in parts; jnlpba: MEDLINE 97218353 twice in one file
    corpora = load_registry()["corpora"]
    merged = {name for name, spec in corpora.items() if spec.get("duplicate_ids") == "merge"}
    assert merged == {"mirna", "chebi", "fsu", "jnlpba"}
