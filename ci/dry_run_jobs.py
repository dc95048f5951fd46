"""Every job a config plans, one sorted line each: rule | output | log | wildcards | shell command.

Run it on two checkouts (or before and after a change) with the same arguments and diff the
outputs: a refactoring of the rules that keeps every line keeps every job and command, so no
existing results/ folder reruns through Snakemake's params trigger; a changed line names the
rule whose jobs rerun once (a changed shell template reruns them all: the code trigger).

    python ci/dry_run_jobs.py --configfile config/demo.yaml > before.txt
    python ci/dry_run_jobs.py --configfile config/demo.yaml > after.txt && diff before.txt after.txt

Arguments go to `snakemake -n -p -F` (the Snakefile of this checkout), run in a temporary folder;
--config paths relative to the working directory are better given as absolute paths.
"""

import re
import subprocess
import sys
import tempfile
from pathlib import Path

SNAKEFILE = Path(__file__).resolve().parents[1] / "Snakefile"
FIELDS = re.compile(r"^    (output|log|wildcards): ")


def job_lines(text):
    """One line per job of a `snakemake -n -p` output, sorted."""
    jobs, job = [], None
    for line in text.splitlines():
        rule = re.match(r"^(?:local)?rule (\S+):$", line)
        if rule:
            job = [rule.group(1)]
            jobs.append(job)
        elif job is not None and FIELDS.match(line):
            job.append(line.strip())
        elif job is not None and line.startswith("Shell command: "):
            job.append(line)
            job = None
    return sorted(" | ".join(job) for job in jobs)


def main(argv):
    with tempfile.TemporaryDirectory() as work:
        command = [sys.executable, "-m", "snakemake", "-s", str(SNAKEFILE), "-d", work, "-n", "-p", "-F", *argv]
        proc = subprocess.run(command, capture_output=True, text=True)
    if proc.returncode != 0:
        sys.stderr.write(proc.stdout[-3000:] + proc.stderr[-3000:])
        return proc.returncode
    print("\n".join(job_lines(proc.stdout)))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
