"""Write a tiny HUNER mirror for the `.test/huner-mirror` CI case, and what it must convert to.

    python .test/huner-mirror/make_mirror.py OUT_DIR

OUT_DIR/mirror/ is laid out as ``<host>/<path>`` of the download URLs of the packaged
registry (src/mtlner/data/huner/registry.yaml) for two corpora, in their real formats:

* miRNA (tasks gene_mirna, species_mirna): miRNA-Test-Corpus.xml and miRNA-Train-Corpus.xml,
  as the Fraunhofer SCAI files (sentence-relative ``charOffset`` with an inclusive end). As in
  the real release, test and train reuse document IDs (test d0-d3, train d0-d15; in the real
  files d0-d99 and d0-d200), which the registry's ``duplicate_ids: merge`` joins.
* SCAI chemicals (task chemical_scai): chemicals-test-corpus-27-04-2009-v3_iob.gz, ``### <id>``
  headers and ``token<TAB>start<TAB>end<TAB>POS<TAB>chem|TAG`` lines, ISO-8859-1, gzipped.

and HUNER's split files (``miRNA.{train,dev,test}``, ``scai_chemicals.{train,dev,test}``)
listing these documents. Both corpora have ``sha256: null`` in the registry, so the packaged
registry is used unchanged. OUT_DIR/expected.json holds the mention count of every task and
split (total, unique surface forms), which the conversion must reproduce.

Every sentence is synthetic (templates below, filled deterministically), written for this
test: no text of the real corpora is copied, so nothing here carries their licences.
"""

from __future__ import annotations

import gzip
import json
import sys
from pathlib import Path

SCAI = "www.scai.fraunhofer.de/content/dam/scai/de/downloads/bioinformatik"
SPLITS = "raw.githubusercontent.com/hu-ner/huner/master/ner_scripts/splits"

GENES = ["PTEN", "TP53", "Dicer1", "BRCA1", "KRAS", "EGFR", "Ago2", "MYC", "Drosha", "SMAD4", "VEGFA", "BCL2"]
SPECIES = ["human", "mouse", "rat", "zebrafish", "chicken", "mice"]
# (template, mention slots); {g}/{s} are gene/species mentions, {n}/{m} miRNA numbers (not annotated)
MIRNA_TEMPLATES = [
    "miR-{n} targets {g} in {s} cells.",
    "Expression of {g} was reduced in {s} tissue after miR-{n} overexpression.",
    "In {s}, {g} is regulated by miR-{n} and miR-{m}.",
    "Loss of {g} did not change miR-{n} levels.",
]
CHEMICALS = [
    ["tamoxifen"],
    ["cisplatin"],
    ["ethanol"],
    ["glucose"],
    ["acetylsalicylic", "acid"],
    ["sodium", "chloride"],
    ["H2O2"],
    ["doxorubicin"],
    ["paclitaxel"],
    ["benzene"],
    ["caffeine"],
]
SCAI_TEMPLATES = [
    "{c} inhibits growth of tumour cells .",
    "Cells were treated with {c} and {d} for 24 h .",
    "The levels of {c} increased after exposure to {d} .",
    "No effect was seen .",
]


def fill(template: str, values: dict[str, str]) -> tuple[str, list[tuple[int, int, str]]]:
    """The sentence and its mentions (start, exclusive end, slot)."""
    text, spans, rest = "", [], template
    while "{" in rest:
        before, _, after = rest.partition("{")
        slot, _, rest = after.partition("}")
        text += before
        if slot in ("g", "s"):
            spans.append((len(text), len(text) + len(values[slot]), slot))
        text += values[slot]
    return text + rest, spans


def mirna_documents(ids: list[int], seed: int) -> list[tuple[str, list[tuple[str, list]]]]:
    documents = []
    for number in ids:
        sentences = []
        for k in range(3):
            i = seed + 3 * number + k
            values = {
                "g": GENES[i % len(GENES)],
                "s": SPECIES[(i * 5) % len(SPECIES)],
                "n": str(10 + i),
                "m": str(200 + i),
            }
            sentences.append(fill(MIRNA_TEMPLATES[i % len(MIRNA_TEMPLATES)], values))
        documents.append((f"miRNA-corp.d{number}", sentences))
    return documents


def mirna_xml(documents) -> str:
    lines = ['<?xml version="1.0" encoding="UTF-8" standalone="no"?>', '<corpus source="miRNA-corpus">']
    for doc_id, sentences in documents:
        lines.append(f'    <document id="{doc_id}">')
        for s, (text, spans) in enumerate(sentences):
            lines.append(f'        <sentence id="{doc_id}.s{s}" text="{text}">')
            for e, (start, end, slot) in enumerate(spans):
                kind = "Genes/Proteins" if slot == "g" else "Species"
                lines.append(
                    f'            <entity charOffset="{start}-{end - 1}" id="{doc_id}.s{s}.e{e}"'
                    f' text="{text[start:end]}" type="{kind}"/>'
                )
            lines.append("        </sentence>")
        lines.append("    </document>")
    return "\n".join(lines + ["</corpus>", ""])


def scai_documents(ids: list[int]) -> list[tuple[str, list[list[tuple[str, str]]]]]:
    documents = []
    for number in ids:
        sentences = []
        for k in range(3):
            i = 3 * number + k
            tokens = []
            for word in SCAI_TEMPLATES[i % len(SCAI_TEMPLATES)].split(" "):
                if word in ("{c}", "{d}"):
                    chemical = CHEMICALS[(i + (word == "{d}") * 4) % len(CHEMICALS)]
                    kind = "IUPAC" if len(chemical) > 1 else "TRIVIAL"
                    tokens += [(w, ("B-" if j == 0 else "I-") + kind) for j, w in enumerate(chemical)]
                else:
                    tokens.append((word, "O"))
            sentences.append(tokens)
        documents.append((str(1000 + number), sentences))
    return documents


def scai_iob(documents) -> str:
    lines, offset = [], 0
    for doc_id, sentences in documents:
        lines.append(f"### {doc_id}")
        for tokens in sentences:
            for token, tag in tokens:
                lines.append(f"{token}\t{offset}\t{offset + len(token)}\tNN\tchem|{tag}")
                offset += len(token) + 1
    return "\n".join(lines) + "\n"


def count(mentions: list[str]) -> list[int]:
    return [len(mentions), len(set(mentions))]


def main(out: Path) -> None:
    mirror = out / "mirror"
    # miRNA: test holds d0-d3, train d0-d15 (d0-d3 again, with other sentences); 16 documents
    test_docs, train_docs = mirna_documents(list(range(4)), 0), mirna_documents(list(range(16)), 1)
    write(mirror / SCAI / "miRNA" / "miRNA-Test-Corpus.xml", mirna_xml(test_docs))
    write(mirror / SCAI / "miRNA" / "miRNA-Train-Corpus.xml", mirna_xml(train_docs))
    mirna_split = {"train": list(range(0, 10)), "dev": list(range(10, 13)), "test": list(range(13, 16))}
    # HUNER concatenated test before train and grouped sentences by ID
    merged: dict[str, list] = {}
    for doc_id, sentences in test_docs + train_docs:
        merged.setdefault(doc_id, []).extend(sentences)
    expected = {"gene_mirna": {}, "species_mirna": {}, "chemical_scai": {}}
    for split, numbers in mirna_split.items():
        ids = [f"miRNA-corp.d{n}" for n in numbers]
        write(mirror / SPLITS / f"miRNA.{split}", "\n".join(ids) + "\n")
        for task, slot in (("gene_mirna", "g"), ("species_mirna", "s")):
            found = [text[a:b] for d in ids for text, spans in merged[d] for a, b, kind in spans if kind == slot]
            expected[task][split] = count(found)
    # SCAI: 14 documents
    scai = scai_documents(list(range(14)))
    path = mirror / SCAI / "Corpora-for-Chemical-Entity-Recognition" / "chemicals-test-corpus-27-04-2009-v3_iob.gz"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(gzip.compress(scai_iob(scai).encode("iso-8859-1"), mtime=0))
    scai_split = {"train": list(range(0, 8)), "dev": list(range(8, 11)), "test": list(range(11, 14))}
    by_id = dict(scai)
    for split, numbers in scai_split.items():
        ids = [str(1000 + n) for n in numbers]
        write(mirror / SPLITS / f"scai_chemicals.{split}", "\n".join(ids) + "\n")
        found = []
        for d in ids:
            for tokens in by_id[d]:
                for token, tag in tokens:
                    if tag.startswith("B-"):
                        found.append(token)
                    elif tag.startswith("I-"):
                        found[-1] += " " + token
        expected["chemical_scai"][split] = count(found)
    write(out / "expected.json", json.dumps(expected, indent=1) + "\n")


def write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: python .test/huner-mirror/make_mirror.py OUT_DIR")
    main(Path(sys.argv[1]))
