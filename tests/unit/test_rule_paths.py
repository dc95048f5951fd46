"""The results/ layout lives in workflow/rules/common.smk alone: no other rule file (nor the
Snakefile) spells a results/ path in its code; they call common.smk's functions instead."""

import io
import tokenize
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
RULES = REPO / "workflow" / "rules"
LAYOUT = RULES / "common.smk"


def results_literals(text):
    """(line, token) of every string in `text` (Snakemake's Python-like syntax) that holds a
    results/ path; comments are prose and may name the layout."""
    tokens = tokenize.generate_tokens(io.StringIO(text).readline)
    return [(tok.start[0], tok.string) for tok in tokens if tok.type == tokenize.STRING and "results/" in tok.string]


def rule_files():
    return [REPO / "Snakefile", *sorted(p for p in RULES.glob("*.smk") if p != LAYOUT)]


def test_no_rule_file_but_common_smk_spells_a_results_path():
    files = rule_files()
    assert len(files) >= 7, files  # the Snakefile and the six stage files
    found = [
        f"{path.relative_to(REPO)}:{line}: {string}"
        for path in files
        for line, string in results_literals(path.read_text())
    ]
    assert not found, "results/ paths outside common.smk (use its layout functions):\n" + "\n".join(found)


def test_the_check_sees_plain_f_and_doc_strings_but_not_comments():
    text = (
        "# results/ in a comment is fine\n"
        "rule a:\n"
        '    """Writes results/x."""\n'
        "    output:\n"
        '        "results/tables/a.csv",\n'
        "    log:\n"
        '        f"{LOGS_DIR}/a.log",\n'
        "    shell:\n"
        '        f"cmd --out-dir results/{{wildcards.x}}"\n'
    )
    assert [line for line, _ in results_literals(text)] == [3, 5, 9]


def test_common_smk_defines_the_layout():
    assert results_literals(LAYOUT.read_text()), "common.smk should hold the results/ layout"
