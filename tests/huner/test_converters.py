"""Each converter on its hand-written fixture: exact tokens and IOB2 tags."""

import pytest

from mtlner.errors import UserError
from mtlner.data.huner.build import build_task, tag_document
from mtlner.data.huner.converters import reader_for
from mtlner.data.huner.registry import load_registry


def convert(fixtures, corpus_dir, fmt, options, types, *, sentences, tokens, encoding="utf-8"):
    """{doc id: [[(token, tag), ...] per sentence]} for a fixture folder."""
    read = reader_for(fmt, "test")
    result = {}
    for doc in read(fixtures / corpus_dir, dict(options, encoding=encoding)):
        tagged, _ = tag_document(doc, types, keep_source_sentences=sentences, keep_source_tokens=tokens)
        result[doc.id] = tagged
    return result


def compact(sentence):
    """'tok/TAG' for tagged tokens, bare token for O: short, readable expectations."""
    return " ".join(tok if tag == "O" else f"{tok}/{tag}" for tok, tag in sentence)


def registry_options(corpus):
    return load_registry()["corpora"][corpus]["options"]


def test_cll_conll_columns_tag_first_crlf(fixtures):
    docs = convert(
        fixtures, "cll", "iob_columns", registry_options("cll"), {"CL": "cell_line"}, sentences=True, tokens=True
    )
    assert [compact(s) for s in docs["PMC-100"]] == [
        "The HeLa/B-cell_line and MCF/B-cell_line -/I-cell_line 7/I-cell_line cells .",
        "Growth in Jurkat/B-cell_line .",
    ]
    assert [compact(s) for s in docs["PMID-200"]] == ["No cell lines here ."]  # CRLF file


def test_jnlpba_medline_headers_and_type_selection(fixtures):
    options = registry_options("jnlpba")
    genes = convert(fixtures, "jnlpba", "iob_columns", options, {"protein": "gene"}, sentences=True, tokens=True)
    cells = convert(fixtures, "jnlpba", "iob_columns", options, {"cell_line": "cell_line"}, sentences=True, tokens=True)
    assert list(genes) == ["111", "222"]
    assert compact(genes["111"][0]) == "IL-2/B-gene gene/I-gene expression in Jurkat T cells ."
    assert compact(genes["222"][0]) == "NF-kappa/B-gene B/I-gene binds IL-2 ."  # B-DNA is not a gene
    assert compact(cells["111"][0]) == "IL-2 gene expression in Jurkat/B-cell_line T/I-cell_line cells/I-cell_line ."


def test_scai_latin1_bar_tags_and_resplit_sentences(fixtures):
    corpus = load_registry()["corpora"]["scai_chemicals"]
    docs = convert(
        fixtures,
        "scai",
        "iob_columns",
        corpus["options"],
        {"*": "chemical"},
        sentences=False,
        tokens=True,
        encoding=corpus["encoding"],
    )
    assert corpus["encoding"] == "iso-8859-1"
    assert [compact(s) for s in docs["1001"]] == [
        "Tamoxifen/B-chemical inhibits growth .",
        "Äthyl/B-chemical acetat/I-chemical at 5 °C .",
    ]
    assert [compact(s) for s in docs["1002"]] == ["No chemicals ."]


def test_scai_as_utf8_is_a_clear_error(fixtures):
    with pytest.raises(UserError, match="not valid utf-8"):
        convert(
            fixtures,
            "scai",
            "iob_columns",
            registry_options("scai_chemicals"),
            {"*": "chemical"},
            sentences=False,
            tokens=True,
        )


def test_chemdner_title_abstract_offsets_overlap_nonascii(fixtures):
    docs = convert(
        fixtures,
        "chemdner",
        "chemdner_tsv",
        {"pairs": [["text.txt", "annotations.tsv"]]},
        {"*": "chemical"},
        sentences=False,
        tokens=False,
    )
    assert [compact(s) for s in docs["D1"]] == [
        "Aspirin/B-chemical and β-lactam/B-chemical antibiotics",
        "We tested aspirin/B-chemical ( ASA/B-chemical ) in rats .",
        # "dinitrophenol" is nested in "2,4-dinitrophenol": merged into one mention
        "The 2,4-dinitrophenol/B-chemical level fell , e.g. in Fig. 2 of the study .",
    ]
    assert [compact(s) for s in docs["D2"]] == ["No chemicals here", "Nothing to see ."]


def test_bc2gm_offsets_skip_spaces_and_end_is_inclusive(fixtures):
    docs = convert(
        fixtures,
        "bc2gm",
        "bc2gm",
        registry_options("bc2gm") | {"pairs": [["bc2geneMention/train/train.in", "bc2geneMention/train/GENE.eval"]]},
        {"*": "gene"},
        sentences=True,
        tokens=False,
    )
    assert compact(docs["P1"][0]) == (
        "Comparison with alkaline/B-gene phosphatases/I-gene and 5/B-gene -/I-gene nucleotidase/I-gene"
    )
    assert compact(docs["P2"][0]) == "Nothing here ."


def test_bc2gm_annotation_whose_offsets_miss_its_text_is_dropped_and_counted(fixtures, tmp_path):
    # GENE.eval line 4 ("P2|0 7|Nothing") gives "Nothing h": HUNER used such offsets as given
    # (the real train file has one: P02196565T0000|162 187), we drop the annotation and count it
    registry = load_registry()
    registry["corpora"]["bc2gm"]["options"] = {
        "pairs": [["bc2geneMention/train/train.in", "bc2geneMention/train/GENE.eval"]]
    }
    splits = tmp_path / "splits"
    splits.mkdir()
    for part, ids in (("train", "P1\nP2\n"), ("dev", ""), ("test", "")):
        (splits / f"bc2gm.{part}").write_text(ids)
    report = build_task("gene_bc2gm", registry, fixtures / "bc2gm", splits, tmp_path / "out")
    assert report["annotations_dropped"] == 1
    assert report["annotations_dropped_examples"] == [
        "train/GENE.eval:4: sentence 'P2': offsets 0 7 give 'Nothing h', annotation says 'Nothing'"
    ]
    assert report["mentions"]["train"]["total"] == 2  # the two mentions of P1 (overlaps merged)


def test_bc2gm_offset_mapping():
    from mtlner.data.huner.converters.bc2gm import non_space_to_char_offsets

    assert non_space_to_char_offsets("a bc d", 1, 2) == (2, 4)
    assert non_space_to_char_offsets("a bc d", 0, 3) == (0, 6)


def test_bioc_cdr_passages_document_offsets_discontinuous_skipped(fixtures):
    docs = convert(
        fixtures, "bioc", "bioc", {"files": ["cdr.xml"]}, {"Chemical": "chemical"}, sentences=False, tokens=False
    )
    assert [compact(s) for s in docs["227508"]] == [
        "Naloxone/B-chemical reverses the antihypertensive effect of clonidine/B-chemical .",
        "In rats , β-blockers/B-chemical and clonidine/B-chemical ( Catapres/B-chemical ) lowered blood pressure .",
        "Hypotension was seen .",  # Disease is not a chemical
    ]


def test_bioc_iepa_keeps_lines_as_sentences(fixtures):
    docs = convert(fixtures, "bioc", "bioc", {"files": ["iepa.xml"]}, {"Protein": "gene"}, sentences=True, tokens=False)
    assert [compact(s) for s in docs["IEPA_d1"]] == [
        "The kinase PKC/B-gene activates Raf-1/B-gene in vitro .",
        "Insulin/B-gene binds the insulin/B-gene receptor/I-gene .",
    ]


def test_bioc_offset_mismatch_is_dropped_and_reported(tmp_path):
    (tmp_path / "bad.xml").write_text(
        "<collection><document><id>d</id><passage><offset>0</offset><text>Gene X here.</text>"
        '<annotation id="A"><infon key="type">gene</infon><location offset="1" length="4"/>'
        "<text>Gene</text></annotation></passage></document></collection>",
        encoding="utf-8",
    )
    doc = next(reader_for("bioc", "t")(tmp_path, {"files": ["bad.xml"], "encoding": "utf-8"}))
    assert doc.spans == [] and "annotation 'A'" in doc.dropped[0]


def test_linnaeus_standoff_with_header(fixtures):
    docs = convert(
        fixtures,
        "linnaeus",
        "standoff_tsv",
        registry_options("linnaeus"),
        {"*": "species"},
        sentences=False,
        tokens=False,
    )
    assert [compact(s) for s in docs["pmcA1"]] == [
        "Escherichia/B-species coli/I-species and human/B-species cells were used .",
        "Mice/B-species ( Mus/B-species musculus/I-species ) too .",
    ]
    assert [compact(s) for s in docs["pmcA2"]] == ["No species ."]


def test_s800_end_offsets_are_inclusive(fixtures):
    docs = convert(
        fixtures, "s800", "standoff_tsv", registry_options("s800"), {"*": "species"}, sentences=False, tokens=False
    )
    assert [compact(s) for s in docs["species001"]] == [
        "Yeast genetics",
        "Saccharomyces/B-species cerevisiae/I-species ( baker/B-species 's/I-species yeast/I-species ) grows .",
        "S./B-species pombe/I-species does too .",
    ]
    # start == end is a one-character mention (inclusive end): FMDV serotypes, kept as HUNER did
    assert [compact(s) for s in docs["species003"]] == [
        "FMDV/B-species serotypes O/B-species and A/B-species were typed ."
    ]


def test_osiris_pmid_line_dropped_and_types_selected(fixtures):
    docs = convert(
        fixtures, "osiris", "osiris", registry_options("osiris"), {"ge": "gene"}, sentences=False, tokens=False
    )
    assert [compact(s) for s in docs["12345"]] == [
        "The NAT2/B-gene gene and TNF-alpha/B-gene .",
        "Variants of NAT2/B-gene ( N-acetyltransferase/B-gene 2/I-gene ) were typed .",
    ]


def test_mirna_inclusive_char_offsets_and_type(fixtures):
    options = {"files": ["miRNA-Test-Corpus.xml"]}
    species = convert(fixtures, "mirna", "mirna_xml", options, {"Species": "species"}, sentences=True, tokens=False)
    genes = convert(fixtures, "mirna", "mirna_xml", options, {"Genes/Proteins": "gene"}, sentences=True, tokens=False)
    assert [compact(s) for s in species["miRNA-corp.d1"]] == [
        "miR-21 targets PTEN in human/B-species cells .",
        "Mouse/B-species Dicer1 was knocked out .",
    ]
    assert [compact(s) for s in genes["miRNA-corp.d1"]] == [
        "miR-21 targets PTEN/B-gene in human cells .",
        "Mouse Dicer1/B-gene was knocked out .",
    ]


def test_bioinfer_subtokens_joined_and_entity_runs(fixtures):
    types = load_registry()["tasks"]["gene_bioinfer"]["types"]
    docs = convert(
        fixtures, "bioinfer", "bioinfer_xml", registry_options("bioinfer"), types, sentences=True, tokens=True
    )
    assert compact(docs["0"][0]) == "Actin-binding/B-gene protein/I-gene profilin/B-gene binds actin/B-gene ."
    assert compact(docs["1"][0]) == "No proteins ."


def test_deca_ids_reproduce_huner_strip(fixtures):
    docs = convert(fixtures, "deca", "deca", registry_options("deca"), {"*": "gene"}, sentences=False, tokens=False)
    # HUNER's "yeast_00053_devtest.txt".strip(".txt") drops the final "t" too
    assert list(docs) == ["yeast_00053_devtes"]
    assert [compact(s) for s in docs["yeast_00053_devtes"]] == [
        "The RAD51/B-gene protein binds Rad52p/B-gene .",
        "No more .",
    ]


def test_fsu_mmax_words_sentences_and_skips(fixtures):
    read = reader_for("fsu_mmax", "t")
    options = {"root": "fsu-prge-release-v1.0", "subcorpora": ["Genes_PIR"], "encoding": "utf-8"}
    docs = list(read(fixtures / "fsu", options))
    broken = [doc for doc in docs if not doc.text]
    assert len(broken) == 1 and "broken" in broken[0].dropped[0]
    (doc,) = [doc for doc in docs if doc.text]
    assert doc.id == "10194230"
    assert "span 'word_7,word_9'" in doc.dropped[0]  # discontinuous markable skipped
    tagged, _ = tag_document(doc, {"*": "gene"}, keep_source_sentences=True, keep_source_tokens=True)
    assert [compact(s) for s in tagged] == [
        "The p53/B-gene tumor/I-gene suppressor/I-gene binds .",
        "MDM2/B-gene and MDM4 act .",
    ]


def test_unimplemented_format_is_a_clear_error():
    with pytest.raises(UserError, match="chemical_chebi.*not implemented yet"):
        reader_for(None, "chemical_chebi")


def test_chebi_snippets_nested_entities_and_types(fixtures):
    types = load_registry()["tasks"]["chemical_chebi"]["types"]
    docs = convert(fixtures, "chebi", "chebi_xml", registry_options("chebi"), types, sentences=False, tokens=False)
    assert [compact(s) for s in docs["WO2007000651"]] == [
        # outer CHEMICAL wins over the nested CM; "&amp;" is decoded
        "The sodium/B-chemical salicylate/I-chemical solution & H2O/B-chemical were mixed .",
        # ONT is not a chemical type, the CM inside it is
        "A solvent such as éthanol/B-chemical helps .",
        "No chemicals here .",
        "Esters/B-chemical too .",
    ]  # text outside <snippet> (the title) is not used, as in HUNER
    assert [compact(s) for s in docs["WO9999999"]] == ["Add ATP/B-chemical ."]
