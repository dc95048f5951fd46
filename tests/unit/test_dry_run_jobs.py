"""ci/dry_run_jobs.py: one sorted line per planned job, the lines two checkouts' dry runs diff."""

import importlib.util
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[2] / "ci" / "dry_run_jobs.py"
_spec = importlib.util.spec_from_file_location("dry_run_jobs", SCRIPT)
dry_run_jobs = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(dry_run_jobs)

PLAN = """Building DAG of jobs...
Job stats:
job      count
-------  -----
windows  1
total    2

[Thu Dec  3 10:03:32 2026]
rule windows:
    input: results/corpora/b/test.tsv
    output: results/windows/k/b/test.pt, results/windows/k/b/stats.json
    log: results/logs/windows/k/b.log
    jobid: 2
    reason: Forced execution
    wildcards: window_key=k, task=b
    resources: tmpdir=/tmp
Shell command: python -m mtlner.cli windows --corpus-dir results/corpora/b --out-dir results/windows/k/b

[Thu Dec  3 10:03:32 2026]
localrule huner_download:
    output: resources/huner/downloads/a/download.json
    log: results/logs/huner/download/a.log
    jobid: 1
    reason: Forced execution
Shell command: python -m mtlner.data.huner download --corpus a
"""


def test_each_job_is_one_line_of_rule_files_and_command_sorted_without_run_details():
    lines = dry_run_jobs.job_lines(PLAN)
    assert lines == [
        "huner_download | output: resources/huner/downloads/a/download.json | log: results/logs/huner/download/a.log"
        " | Shell command: python -m mtlner.data.huner download --corpus a",
        "windows | output: results/windows/k/b/test.pt, results/windows/k/b/stats.json"
        " | log: results/logs/windows/k/b.log | wildcards: window_key=k, task=b"
        " | Shell command: python -m mtlner.cli windows --corpus-dir results/corpora/b --out-dir results/windows/k/b",
    ]
