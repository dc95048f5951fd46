"""The packaged registry covers the paper's 22 tasks consistently."""

import csv
import importlib
from pathlib import Path

import pytest

from mtlner.errors import UserError
from mtlner.data.huner.converters import FORMATS
from mtlner.data.huner.registry import load_registry

PAPER_TASKS = {
    "cell_line": ["cellline_cll", "cellline_gellus", "cellline_jnlpba"],
    "chemical": ["chemical_cdr", "chemical_cemp", "chemical_chebi", "chemical_chemdner", "chemical_scai"],
    "gene": [
        "gene_bc2gm",
        "gene_bioinfer",
        "gene_deca",
        "gene_fsu",
        "gene_gpro",
        "gene_iepa",
        "gene_jnlpba",
        "gene_mirna",
        "gene_osiris",
        "gene_variome",
    ],
    "species": ["species_linnaeus", "species_mirna", "species_s800", "species_variome"],
}


def test_exactly_the_22_paper_tasks_with_their_class():
    tasks = load_registry()["tasks"]
    assert sorted(tasks) == sorted(task for names in PAPER_TASKS.values() for task in names)
    for entity, names in PAPER_TASKS.items():
        for task in names:
            assert tasks[task]["entity"] == entity
            assert set(tasks[task]["types"].values()) == {entity}


def test_every_format_has_a_converter_module():
    corpora = load_registry()["corpora"]
    for key, corpus in corpora.items():
        module = importlib.import_module(f"mtlner.data.huner.converters.{FORMATS[corpus['format']]}")
        assert callable(module.read)


def test_downloads_are_urls_or_manual_and_checksums_well_formed():
    for key, corpus in load_registry()["corpora"].items():
        for entry in corpus["files"]:
            assert entry["urls"] or corpus["manual"], key
            assert all(url.startswith(("http://", "https://")) for url in entry["urls"])
            assert entry["sha256"] is None or len(entry["sha256"]) == 64


def test_shared_corpora_are_downloaded_once():
    tasks = load_registry()["tasks"]
    assert tasks["gene_jnlpba"]["corpus"] == tasks["cellline_jnlpba"]["corpus"] == "jnlpba"
    assert tasks["gene_mirna"]["corpus"] == tasks["species_mirna"]["corpus"]
    assert tasks["gene_variome"]["corpus"] == tasks["species_variome"]["corpus"]


def test_split_names_follow_huner():
    tasks = load_registry()["tasks"]
    assert tasks["gene_jnlpba"]["split"] == "genia"
    assert tasks["chemical_chebi"]["split"] == "chebi"
    assert tasks["gene_mirna"]["split"] == tasks["species_mirna"]["split"] == "miRNA"


def test_paper_table1_names_every_task():
    repo = Path(__file__).resolve().parents[2]
    table = repo / "resources" / "paper" / "table1_mentions.csv"  # committed: missing, the test fails
    rows = {(row["entity"], row["dataset"].lower()) for row in csv.DictReader(table.open())}
    for entity, names in PAPER_TASKS.items():
        for task in names:
            dataset = task.split("_", 1)[1]
            assert (entity, {"linnaeus": "linneaus"}.get(dataset, dataset)) in rows


def test_url_base_rewrites_every_url():
    registry = load_registry(url_base="http://127.0.0.1:8000/")
    urls = [url for corpus in registry["corpora"].values() for entry in corpus["files"] for url in entry["urls"]]
    assert all(url.startswith("http://127.0.0.1:8000/") for url in urls)
    assert registry["split_url_base"] == (
        "http://127.0.0.1:8000/raw.githubusercontent.com/hu-ner/huner/master/ner_scripts/splits"
    )


def test_broken_registry_is_a_user_error(tmp_path):
    path = tmp_path / "r.yaml"
    path.write_text("corpora: {}\ntasks: {x: {corpus: nope, entity: gene, split: s, types: {}}}\n")
    with pytest.raises(UserError, match="task 'x' names unknown corpus 'nope'"):
        load_registry(path)


def test_source_token_flag_matches_the_formats_that_come_tokenised():
    pretokenised_formats = {"iob_columns", "bioinfer_xml", "fsu_mmax"}
    for key, corpus in load_registry()["corpora"].items():
        assert corpus["keep_source_tokens"] == (corpus["format"] in pretokenised_formats), key


@pytest.mark.parametrize("key, where", [("mention_boundaries", None), ("duplicate_ids", "cll")])
def test_registry_rejects_unknown_policy_values(tmp_path, key, where):
    import yaml

    from mtlner.data.huner.registry import PACKAGED_REGISTRY

    data = yaml.safe_load(PACKAGED_REGISTRY.read_text())
    (data["corpora"][where] if where else data)[key] = "sometimes"
    path = tmp_path / "registry.yaml"
    path.write_text(yaml.safe_dump(data))
    with pytest.raises(UserError, match=f"{key} must be"):
        load_registry(path)
