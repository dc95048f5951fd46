#!/usr/bin/env python3
"""Cut the demo corpora: small, attributed slices of real biomedical NER corpora.

What it writes: ``resources/demo/corpora/<task>/{train,dev,test}.tsv`` (an evaluation-only
cross-corpus target, ``gene_bc2gm``: ``test.tsv`` only), CoNLL IOB2
(``token<TAB>tag``, blank line between sentences, ``-DOCSTART-<TAB><id><TAB>O`` before each
document), the source tags kept verbatim (``B-Chemical``, ``I-GENE``, ...). The slice recipe
of every task is the ``SLICES`` table below; ``README.md`` next to this file gives the
sources, authors, licences and the counts this script prints.

From where:

* ``crichton`` slices read ``<corpora>/<folder>/{train,dev,test}.tsv``, the CC BY 4.0 release
  of Crichton, Pyysalo, Chiu & Korhonen (2017) (default ``<corpora>``: ``/work/shared/corpora``,
  or ``$MTLNER_CORPORA``). These files keep the source documents in order but carry no
  document markers, so the slice groups them into pseudo-documents: each split is cut into
  consecutive *blocks* of ``block`` sentences (the last block may be shorter), a seeded sample
  of whole blocks is drawn, and the blocks are written in source order, one ``-DOCSTART-`` per
  block, id ``<split>-s<index of the block's first sentence in the source split>``. A block is
  about one abstract long, so the document-level bootstrap of the tables resamples runs of
  consecutive sentences, as it would resample abstracts.
* ``cll`` slices read ``CLL_corpus.tar.gz`` (CLL 1.0.2, Kaewphan et al. 2016, CC BY-SA 3.0)
  under ``<huner-mirror>`` (default ``/work/shared/huner-mirror``, or ``$MTLNER_HUNER_MIRROR``)
  and HUNER's document split lists (``cll.{train,dev,test}``) next to it; a seeded sample of
  whole documents of each HUNER split is written in split-list order, one ``-DOCSTART-`` per
  document, id = the CLL file name (``PMID-...`` / ``PMC-...``). CLL's ``tag<TAB>token``
  columns are swapped to ``token<TAB>tag``.

How: deterministic. The sample of each (task, split) is ``random.Random(f"{task}/{split}")``
(string seeds are hashed with SHA-512 by Python, so the draw is the same on every platform
and Python 3 version); ``sample`` draws units (blocks or documents) without replacement from
the units that hold at least ``min_mentions`` mentions (``B-`` tags; default 0: all units).
The filter is used for LINNAEUS (blocks with >= 2 species mentions; the corpus has 0.18 per
sentence) and CLL (documents with >= 1 cell line), in all three splits.
Rerunning the script rewrites byte-identical files; ``--check`` only compares and fails if a
file would change. Each source is read in full and nothing but the sampled units is written.

Usage::

    python resources/demo/make_slices.py            # (re)write resources/demo/corpora
    python resources/demo/make_slices.py --check    # verify the committed slices
"""

from __future__ import annotations

import argparse
import io
import os
import random
import sys
import tarfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
SPLITS = ("train", "dev", "test")

# task -> recipe. Sizes are numbers of units (blocks of `block` sentences, or CLL documents)
# per split. Chosen by measurement, see README.md ("How the size was chosen").
SLICES: dict[str, dict] = {
    # CLL's documents are single sentences or short extracts. A quarter of them hold no cell
    # line and a few hold lists of 14-31, so the mention count of a small random sample swings
    # (34 documents: 49 or 115 mentions); only documents with at least one mention are drawn
    "cellline_cll": {"kind": "cll", "min_mentions": 1, "units": {"train": 34, "dev": 12, "test": 40}},
    "chemical_bc5cdr": {"kind": "crichton", "folder": "bc5cdr_chemical", "block": 4, "units": {"train": 19, "dev": 4, "test": 25}},
    "gene_bionlp11id": {"kind": "crichton", "folder": "bionlp11id_gene", "block": 4, "units": {"train": 19, "dev": 4, "test": 25}},
    # an evaluation-only cross-corpus target (config cross_corpus_targets): a second gene corpus,
    # test split only (100 sentences), never trained on; every gene head scores it
    "gene_bc2gm": {"kind": "crichton", "folder": "bc2gm_gene", "block": 4, "units": {"test": 25}},
    # LINNAEUS is full text with 0.18 species mentions per sentence: only blocks holding at
    # least two mentions are drawn, so that 76 training sentences hold ~55 mentions, not ~14
    "species_linnaeus": {
        "kind": "crichton", "folder": "linnaeus_species", "block": 4, "min_mentions": 2,
        "units": {"train": 19, "dev": 4, "test": 25},
    },
}

CLL_ARCHIVE = "github.com/hu-ner/hunflair-corpora/raw/main/cll/CLL_corpus.tar.gz"
HUNER_SPLITS = "raw.githubusercontent.com/hu-ner/huner/master/ner_scripts/splits"

Sentence = list[tuple[str, str]]  # (token, tag)


# --------------------------------------------------------------------------- reading


def read_sentences(path: Path) -> list[Sentence]:
    """Sentences of one Crichton split file (``token<TAB>tag``; there are no -DOCSTART- lines,
    but any are skipped)."""
    sentences: list[Sentence] = []
    current: Sentence = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.strip():
            if current:
                sentences.append(current)
            current = []
            continue
        token, tag = line.split("\t")[0], line.split("\t")[-1]
        if token == "-DOCSTART-":
            continue
        current.append((token, tag))
    if current:
        sentences.append(current)
    return sentences


def read_cll(mirror: Path) -> tuple[dict[str, list[Sentence]], dict[str, list[str]]]:
    """CLL documents (file stem -> sentences, ``tag<TAB>token`` swapped) and HUNER's split lists."""
    docs: dict[str, list[Sentence]] = {}
    with tarfile.open(mirror / CLL_ARCHIVE) as tar:
        for member in tar.getmembers():
            name = Path(member.name)
            if not (member.isfile() and name.parent.name == "conll" and name.suffix == ".conll"):
                continue
            text = io.TextIOWrapper(tar.extractfile(member), encoding="utf-8").read()
            sentences, current = [], []
            for line in text.splitlines():
                if not line.strip():
                    if current:
                        sentences.append(current)
                    current = []
                    continue
                tag, token = line.split("\t")
                current.append((token, tag))
            if current:
                sentences.append(current)
            docs[name.stem] = sentences
    splits = {}
    for split in SPLITS:
        ids = (mirror / HUNER_SPLITS / f"cll.{split}").read_text(encoding="utf-8").split()
        missing = [i for i in ids if i not in docs]
        if missing:
            sys.exit(f"CLL: {len(missing)} documents of HUNER's cll.{split} are not in the archive, e.g. {missing[0]}")
        splits[split] = ids
    return docs, splits


# --------------------------------------------------------------------------- slicing


def mentions(sentences: list[Sentence]) -> int:
    return sum(tag.startswith("B-") for sentence in sentences for _, tag in sentence)


def sample_units(task: str, split: str, n_units: int, n: int) -> list[int]:
    """Indices of ``n`` of ``n_units`` units, seeded by task and split, in source order."""
    if n > n_units:
        sys.exit(f"{task}/{split}: asked for {n} units, the source has {n_units}")
    return sorted(random.Random(f"{task}/{split}").sample(range(n_units), n))


def slice_task(task: str, recipe: dict, corpora: Path, mirror: Path) -> dict[str, list[tuple[str, list[Sentence]]]]:
    """split -> [(document id, sentences)] for one task."""
    out = {}
    least = recipe.get("min_mentions", 0)
    if recipe["kind"] == "crichton":
        block = recipe["block"]
        for split in [s for s in SPLITS if s in recipe["units"]]:  # a target has test only
            sentences = read_sentences(corpora / recipe["folder"] / f"{split}.tsv")
            # units with fewer than min_mentions mentions are never drawn (sparse corpora)
            starts = [i for i in range(0, len(sentences), block) if mentions(sentences[i : i + block]) >= least]
            chosen = sample_units(task, split, len(starts), recipe["units"][split])
            out[split] = [(f"{split}-s{starts[i]}", sentences[starts[i] : starts[i] + block]) for i in chosen]
    elif recipe["kind"] == "cll":
        docs, splits = read_cll(mirror)
        for split in SPLITS:
            ids = [i for i in splits[split] if mentions(docs[i]) >= least]
            chosen = sample_units(task, split, len(ids), recipe["units"][split])
            out[split] = [(ids[i], docs[ids[i]]) for i in chosen]
    else:
        raise ValueError(f"unknown kind {recipe['kind']!r}")
    return out


def render(docs: list[tuple[str, list[Sentence]]]) -> str:
    lines: list[str] = []
    for doc_id, sentences in docs:
        lines += [f"-DOCSTART-\t{doc_id}\tO", ""]
        for sentence in sentences:
            lines += [f"{token}\t{tag}" for token, tag in sentence]
            lines.append("")
    return "\n".join(lines)


def counts(docs: list[tuple[str, list[Sentence]]]) -> dict[str, int]:
    sentences = [s for _, d in docs for s in d]
    return {
        "documents": len(docs),
        "sentences": len(sentences),
        "tokens": sum(len(s) for s in sentences),
        "mentions": mentions(sentences),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--corpora", type=Path, default=Path(os.environ.get("MTLNER_CORPORA", "/work/shared/corpora")))
    parser.add_argument("--huner-mirror", type=Path, default=Path(os.environ.get("MTLNER_HUNER_MIRROR", "/work/shared/huner-mirror")))
    parser.add_argument("--out", type=Path, default=HERE / "corpora")
    parser.add_argument("--check", action="store_true", help="compare with the files in --out; write nothing")
    args = parser.parse_args(argv)

    stale = []
    print("| task | split | documents | sentences | tokens | mentions |\n|---|---|---:|---:|---:|---:|")
    for task, recipe in SLICES.items():
        for split, docs in slice_task(task, recipe, args.corpora, args.huner_mirror).items():
            c = counts(docs)
            print(f"| {task} | {split} | {c['documents']} | {c['sentences']} | {c['tokens']} | {c['mentions']} |")
            path = args.out / task / f"{split}.tsv"
            text = render(docs) + "\n"
            if args.check:
                if not path.is_file() or path.read_text(encoding="utf-8") != text:
                    stale.append(str(path))
                continue
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
    if stale:
        print("out of date (rerun without --check):\n  " + "\n  ".join(stale), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
