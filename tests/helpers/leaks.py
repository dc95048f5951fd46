"""Toy corpora for the leak audit (mtlner.data.leaks), prepared by `mtlner prepare` in-process."""

from mtlner.cli import main

from tests.helpers import write


def prepare(tmp_path, task, entity, splits: dict[str, str]):
    raw = tmp_path / "raw" / task
    for split, text in splits.items():
        write(raw / f"{split}.tsv", text)
    out = tmp_path / "corpora" / task
    assert main(["prepare", "--task", task, "--entity", entity, "--input-dir", str(raw), "--out-dir", str(out)]) == 0
    return out


def doc(doc_id: str, *sentences: str) -> str:
    """A document with an ID; sentences as 'tok/TAG tok/TAG'."""
    lines = [f"-DOCSTART-\t{doc_id}\tO", ""]
    for sentence in sentences:
        lines += ["\t".join(t.rsplit("/", 1)) for t in sentence.split()] + [""]
    return "\n".join(lines) + "\n"


def prepare_target(tmp_path, name, entity, test: str):
    """An evaluation-only target as rule prepare_target writes it: test.tsv (and stats.json) only."""
    raw = tmp_path / "raw" / name
    write(raw / "test.tsv", test)
    out = tmp_path / "corpora" / name  # beside the tasks' corpora, as results/corpora/<name>
    args = ["prepare", "--task", name, "--entity", entity, "--input-dir", str(raw), "--splits", "test"]
    assert main([*args, "--out-dir", str(out)]) == 0
    assert not (out / "train.tsv").exists()
    return out


def leak_corpora(tmp_path):
    """gene: its training text holds a species test sentence (in other case) and one of its own
    dev sentences; species: its dev and test splits share a sentence, and a document ID."""
    gene = prepare(tmp_path, "gene", "gene", {
        "train": doc("p1", "The/O mouse/O p53/B-Gene gene/O ./O", "BRCA1/B-Gene binds/O ./O") + doc("p2", "Ras/B-Gene is/O small/O ./O"),
        "dev": doc("p3", "Ras/B-Gene is/O small/O ./O"),
        "test": doc("p4", "Kras/B-Gene rises/O ./O"),
    })  # fmt: skip
    species = prepare(tmp_path, "species", "species", {
        "train": doc("s1", "Mice/B-Species were/O used/O ./O"),
        "dev": doc("s2", "Rats/B-Species were/O fed/O ./O"),
        "test": doc("s2", "the/O MOUSE/B-Species P53/O gene/O ./O") + doc("s3", "Rats/B-Species were/O fed/O ./O"),
    })  # fmt: skip
    return {"gene": gene, "species": species}


def leak_targets(tmp_path):
    """gene_eval: one test sentence is gene's training sentence 'BRCA1 binds .' (in other case),
    one is species' dev sentence 'Rats were fed .', one is new; species_eval shares nothing."""
    gene_eval = prepare_target(tmp_path, "gene_eval", "gene", doc(
        "e1", "brca1/B-Gene BINDS/O ./O", "Rats/O were/O fed/O ./O", "Novel/O TP53/B-Gene ./O"
    ))  # fmt: skip
    species_eval = prepare_target(tmp_path, "species_eval", "species", doc("f1", "Zebrafish/B-Species swim/O ./O"))
    return {"gene_eval": gene_eval, "species_eval": species_eval}
