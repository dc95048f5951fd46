"""Write the small demo corpus that ships with the workflow (deterministic; rerun to rebuild).

Five tasks covering the paper's four entity types. Sentences come from templates whose slots
are filled from small name lists; every sentence may mention several entity types, but each
task annotates only its own type (as the HUNER corpora do), so a tagger has to learn the type,
not just spot names. A third of the names of each type appear only in dev/test, so the scores
measure generalisation rather than memory. It is synthetic text written for this project, not
an excerpt of any corpus.

    python resources/demo/make_corpus.py            # writes resources/demo/corpora/<task>/
"""

from __future__ import annotations

import random
import sys
from pathlib import Path

NAMES = {
    "cell_line": [
        "HeLa", "MCF-7", "HEK293", "A549", "Jurkat", "HepG2", "K562", "U937", "SH-SY5Y", "PC-3",
        "HCT116", "Caco-2", "THP-1", "NIH 3T3", "COS-7", "Vero", "MDA-MB-231", "LNCaP", "U2OS", "HL-60",
        "SW480", "HT-29", "Raji", "Daudi", "CHO-K1", "RAW 264.7", "BEAS-2B", "T47D", "SK-N-SH", "DU145",
    ],
    "chemical": [
        "cisplatin", "doxorubicin", "aspirin", "ibuprofen", "tamoxifen", "metformin", "paclitaxel",
        "dexamethasone", "ethanol", "glucose", "caffeine", "nicotine", "cholesterol", "dopamine",
        "5-fluorouracil", "hydrogen peroxide", "sodium chloride", "retinoic acid", "curcumin", "rapamycin",
        "lithium carbonate", "valproic acid", "warfarin", "heparin", "imatinib", "gefitinib", "resveratrol",
        "N-acetylcysteine", "vitamin D3", "acetaminophen",
    ],
    "gene": [
        "BRCA1", "TP53", "EGFR", "KRAS", "MYC", "PTEN", "IL-6", "TNF-alpha", "VEGF", "AKT1", "HER2",
        "CDK4", "BCL-2", "STAT3", "NF-kappaB", "insulin receptor", "p21", "cyclin D1", "MMP-9", "SOX2",
        "interleukin-2", "caspase-3", "JAK2", "mTOR", "Notch1", "beta-catenin", "RAD51", "APOE", "CFTR",
        "FOXP3", "GAPDH", "PD-L1",
    ],
    "species": [
        "Homo sapiens", "mice", "rats", "Escherichia coli", "Saccharomyces cerevisiae", "zebrafish",
        "Drosophila melanogaster", "Arabidopsis thaliana", "patients", "humans", "Caenorhabditis elegans",
        "Staphylococcus aureus", "HIV-1", "Plasmodium falciparum", "rabbits", "chickens", "Mycobacterium tuberculosis",
        "Bacillus subtilis", "pigs", "macaques", "Xenopus laevis", "hamsters", "Pseudomonas aeruginosa",
        "influenza A virus", "dogs", "Candida albicans", "cattle", "E. coli",
    ],
}
SLOT = {"C": "cell_line", "X": "chemical", "G": "gene", "S": "species"}

# {C} cell line, {X} chemical, {G} gene, {S} species
TEMPLATES = {
    "general": [
        "Treatment of {C} cells with {X} reduced the expression of {G} .",
        "{G} was overexpressed in {C} cells after exposure to {X} .",
        "We measured {G} levels in {S} fed with {X} for two weeks .",
        "In {S} , loss of {G} increased sensitivity to {X} .",
        "The {C} line was derived from {S} tissue and expresses {G} .",
        "{X} inhibited the growth of {C} cells in a dose-dependent manner .",
        "Knockdown of {G} in {C} cells abolished the effect of {X} .",
        "Serum {G} was elevated in {S} treated with {X} .",
        "{S} lacking {G} developed tumours within six months .",
        "Binding of {X} to {G} was confirmed in {C} lysates .",
        "These results suggest that {G} mediates the response of {S} to {X} .",
        "{C} and {C} cells were cultured with {X} .",
        "Mutations in {G} and {G} were found in {S} .",
        "No effect of {X} on {G} was seen in {S} .",
        "The assay was repeated in {C} cells with and without {X} .",
        "Expression of {G} protects {S} against {X} toxicity .",
    ],
    "gene_b": [
        "The {G} gene encodes a kinase that is activated by {X} in {C} cells .",
        "Promoter methylation silenced {G} in {S} .",
        "{G} interacts with {G} and regulates apoptosis .",
        "Phosphorylation of {G} was induced by {X} .",
        "A single nucleotide variant of {G} was associated with disease in {S} .",
        "Transcripts of {G} were quantified by PCR in {C} cells .",
        "{G} -deficient {S} showed impaired immunity .",
        "The {G} / {G} complex was purified from {C} extracts .",
    ],
}
SPECS = {
    "cellline_demo": ("cell_line", "general", 11),
    "chemical_demo": ("chemical", "general", 12),
    "gene_demo_a": ("gene", "general", 13),
    "gene_demo_b": ("gene", "gene_b", 14),
    "species_demo": ("species", "general", 15),
}
SIZES = {"train": 80, "dev": 24, "test": 40}
SENTENCES_PER_DOC = 4


def _fill(template: str, entity: str, pool: dict[str, list[str]], rng: random.Random) -> list[tuple[str, str]]:
    """Tokens and IOB2 tags of one sentence; only ``entity`` names are tagged."""
    out = []
    for piece in template.split():
        if piece.startswith("{") and piece.endswith("}"):
            etype = SLOT[piece[1]]
            words = rng.choice(pool[etype]).split()
            for i, word in enumerate(words):
                tag = "O" if etype != entity else ("B-" if i == 0 else "I-") + entity
                out.append((word, tag))
        else:
            out.append((piece, "O"))
    return out


def make_task(entity: str, template_set: str, seed: int) -> dict[str, str]:
    rng = random.Random(seed)
    seen, unseen = {}, {}
    for etype, names in NAMES.items():
        shuffled = names[:]
        rng.shuffle(shuffled)
        cut = len(shuffled) * 2 // 3
        seen[etype], unseen[etype] = shuffled[:cut], shuffled[cut:]
    files = {}
    for split, n in SIZES.items():
        # dev/test draw half their names from those never seen in training
        lines = []
        for k in range(n):
            if k % SENTENCES_PER_DOC == 0:
                lines += [f"-DOCSTART-\t{split}-{k // SENTENCES_PER_DOC}\tO", ""]
            pool = seen if split == "train" or rng.random() < 0.5 else unseen
            template = rng.choice(TEMPLATES[template_set])
            lines += [f"{w}\t{t}" for w, t in _fill(template, entity, pool, rng)] + [""]
        files[split] = "\n".join(lines) + "\n"
    return files


def main(out_dir: Path) -> None:
    for task, (entity, template_set, seed) in SPECS.items():
        for split, text in make_task(entity, template_set, seed).items():
            path = out_dir / task / f"{split}.tsv"
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).parent / "corpora")
