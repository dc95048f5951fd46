"""Every command shown in README.md, config/README.md and docs/**/*.md works as written.

The commands are read from the fenced ```bash / ```sh / ```shell blocks (a trailing ``\\`` joins
lines, ``#`` starts a comment, ``&&`` and ``;`` separate commands) and each is checked by kind:

- ``snakemake ...``: run as a dry run (``-n`` added in front, nothing else changed, so a target
  written where an option swallows it still fails) in a temporary copy of the checkout, one
  copy per document, commands in the order the document gives them;
- ``make <target>``: the target is in the Makefile and in MAKE_TARGETS below (what tests it);
  the recipe's own snakemake commands (``make -n``) are dry-run as well;
- ``mtlner ...`` / ``python -m mtlner.cli ...``: parsed by the real argument parser;
- ``mkdir``/``cp``: run in the temporary copy (the corpora and configs the next commands use);
- anything else must be in NOT_RUN with the reason it is not run here, and is checked
  another way; an unknown command fails, so a new documented command is added consciously.

Snakemake options a dry run cannot check (``--report``) are taken out and named in NOT_DRY_RUN
with the test that covers them. Commands in running text (```snakemake -R tables figures```)
are checked the same way, after the blocks' (templates with ``...`` or a capital placeholder
such as ``--cores N`` are left out).

A ```yaml block whose first line is ``# <file>.yaml`` is an edit of that file: its keys are
merged into the file (mappings key by key) before the commands after it run.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import yaml

from tests.helpers import ROOT, cli_env

DOCS = [ROOT / "README.md", ROOT / "config" / "README.md", *sorted((ROOT / "docs").glob("**/*.md"))]
SHELL_LANGS = {"bash", "sh", "shell"}

# make targets the docs may name, and what shows that each one works: a test node
# ("tests/<file>.py::<function>", which must exist) or ".ci/run: make <target>" (CI runs that
# command; "make test" builds setup first). Every snakemake command of a target's recipe is also
# dry-run by test_documented_commands_run.
MAKE_TARGETS = {
    "setup": [".ci/run: make test"],  # a prerequisite of test and lint, which CI runs from a clean clone
    "test": [".ci/run: make test"],  # the test suite itself
    "test-fast": [],  # tests/unit/ only (under a minute); CI runs the whole suite
    "lint": [".ci/run: make lint"],
    # the demo's whole run is not in CI (minutes of training): its config is dry-run and validated
    "demo": [
        "tests/workflow/test_workflow.py::test_default_config_is_the_paper_grid_and_configfile_replaces_it",
        "tests/unit/test_config_schema.py::test_shipped_configs_are_valid",
    ],
    "bench": ["tests/unit/test_bench.py::test_bench_writes_every_raw_run_machine_commit_and_data_to_json"],
    "reference": ["tests/unit/test_reference.py::test_page_puts_our_rows_beside_the_papers_for_the_same_tasks"],
    "clean-results": [],  # rm -rf results/* .snakemake: nothing to test
}

# Snakemake options a dry run cannot check: the command is dry-run without them, and the test
# named here covers what they do.
NOT_DRY_RUN = {
    "--report": (
        "needs a finished run",
        "tests/workflow/test_report.py::test_report_is_one_page_embedding_every_table_and_figure",
    ),
}


def _pip_check(words: list[str]) -> str | None:
    """`pip install` of this package's extras or a pinned dependency: they are the ones pyproject.toml
    declares (make setup installs them)."""
    pyproject = (ROOT / "pyproject.toml").read_text()
    extras = set(re.findall(r"^(\w+) = \[", pyproject.split("[project.optional-dependencies]")[1], re.M))
    for word in words[2:]:
        if word.startswith("-"):
            continue
        match = re.fullmatch(r"\.?\[([\w,]+)\]", word.lstrip("."))
        if match or word.startswith("."):
            wanted = set(match.group(1).split(",")) if match else set()
            if wanted - extras:
                return f"extras {sorted(wanted - extras)} are not in pyproject.toml ({sorted(extras)})"
        elif f'"{word}"' not in pyproject:
            return f"{word!r} is not pinned like that in pyproject.toml"
    return None


def _script_exists(words: list[str]) -> str | None:
    script = ROOT / words[1]
    return None if script.is_file() and os.access(script, os.X_OK) else f"{words[1]} is no executable file"


def _venv_activate(words: list[str]) -> str | None:
    return None if words[1:] == [".venv/bin/activate"] else f"only .venv/bin/activate is known, not {words[1:]}"


# commands not run here: why, and the check made instead
NOT_RUN = {
    "source": ("activates make setup's .venv; these tests run in that environment already", _venv_activate),
    "pip": ("installs packages; checked against pyproject.toml instead", _pip_check),
    "sudo": ("root and Debian SLURM packages; ci/slurm/test_slurm.sh runs it in .ci/run", _script_exists),
}
# run as written in the temporary copy: they make the files the commands after them use
RUN_AS_WRITTEN = {"mkdir", "cp"}


@dataclass
class Command:
    doc: str
    line: int
    words: list[str]
    env: dict[str, str] = field(default_factory=dict)
    yaml_edit: tuple[str, dict] | None = None  # (file, keys) instead of words
    inline: bool = False  # in running text, not a fenced block

    @property
    def where(self) -> str:
        return f"{self.doc}:{self.line}"

    @property
    def text(self) -> str:
        return shlex.join(self.words) if self.words else f"<edit {self.yaml_edit[0]}>"


def fenced_blocks(text: str) -> list[tuple[str, int, str]]:
    """(language, line number of the first line inside, text) of every fenced block; indented
    fences (inside list items) count, their indentation is removed."""
    blocks, lines, i = [], text.splitlines(), 0
    while i < len(lines):
        match = re.match(r"^(\s*)```\s*([\w-]*)\s*$", lines[i])
        if not match:
            i += 1
            continue
        indent, lang, start = len(match.group(1)), match.group(2).lower(), i + 1
        i += 1
        body = []
        while i < len(lines) and not re.match(r"^\s*```\s*$", lines[i]):
            body.append(lines[i][indent:] if lines[i][:indent].strip() == "" else lines[i].lstrip())
            i += 1
        blocks.append((lang, start + 1, "\n".join(body)))
        i += 1
    return blocks


def split_commands(block: str, doc: str, first_line: int) -> list[Command]:
    commands, lines, i = [], block.splitlines(), 0
    while i < len(lines):
        number, line = first_line + i, lines[i]
        while line.rstrip().endswith("\\") and i + 1 < len(lines):
            i += 1
            line = line.rstrip()[:-1] + " " + lines[i]
        i += 1
        words = shlex.split(line, comments=True)
        current: list[str] = []
        for word in [*words, ";"]:
            if word in {"&&", ";", "||", "|"}:
                if current:
                    commands.append(Command(doc, number, current))
                current = []
            else:
                current.append(word)
    return commands


def yaml_edit(block: str) -> tuple[str, dict] | None:
    first = block.lstrip().splitlines()[0] if block.strip() else ""
    match = re.match(r"#\s*(\S+\.ya?ml)\b", first)
    return (match.group(1), yaml.safe_load(block) or {}) if match else None


def doc_commands(path: Path) -> list[Command]:
    """The document's commands in order, with the environment its assignments and `export`s set."""
    doc = str(path.relative_to(ROOT))
    found, env = [], {}
    for lang, line, body in fenced_blocks(path.read_text(encoding="utf-8")):
        if lang in {"yaml", "yml"} and (edit := yaml_edit(body)):
            found.append(Command(doc, line, [], yaml_edit=edit))
        if lang not in SHELL_LANGS:
            continue
        for command in split_commands(body, doc, line):
            words = command.words
            if words[0] == "export":
                words = words[1:]
            assigned = {}
            while words and re.match(r"^[A-Za-z_]\w*=", words[0]):
                key, value = words[0].split("=", 1)
                assigned[key] = value
                words = words[1:]
            if not words or words[0] == "cd":  # commands are run from the checkout's root
                env.update(assigned)
                continue
            found.append(Command(doc, command.line, words, env={**env, **assigned}))
    return found


INLINE = re.compile(r"^(snakemake|make|mtlner|python -m mtlner[\w.]*)(\s|$)")


def inline_commands(path: Path) -> list[Command]:
    """Commands in running text (`snakemake -R tables figures`), outside fenced blocks. Templates
    (with `...`, or a placeholder in capitals such as `--cores N`) are left out."""
    doc, found, fenced = str(path.relative_to(ROOT)), [], False
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if re.match(r"^\s*```", line):
            fenced = not fenced
        elif not fenced:
            for span in re.findall(r"`([^`\n]+)`", line):
                if INLINE.match(span) and "..." not in span and not re.search(r"(?<![-\w])[A-Z][A-Z_]*\b", span):
                    found.append(Command(doc, number, shlex.split(span), inline=True))
    return found


def all_commands() -> list[Command]:
    return [command for path in DOCS for command in [*doc_commands(path), *inline_commands(path)]]


def kind(command: Command) -> str:
    words = command.words
    if command.yaml_edit:
        return "yaml"
    program = words[0]
    if program == "snakemake":
        return "snakemake"
    if program == "make":
        return "make"
    if program == "mtlner" or (program.startswith("python") and words[1:3] in (["-m", "mtlner.cli"], ["-m", "mtlner"])):
        return "mtlner"
    if program.startswith("python") and words[1:2] == ["-m"] and words[2].startswith("mtlner."):
        return "module"
    if program in RUN_AS_WRITTEN:
        return "run"
    if program in NOT_RUN:
        return "not_run"
    return "unknown"


def mtlner_args(words: list[str]) -> list[str]:
    return words[1:] if words[0] == "mtlner" else words[3:]


def parse_error(args: list[str]) -> str | None:
    """What the real `mtlner` parser says about ``args`` (None: they parse)."""
    import contextlib
    import io

    from mtlner.cli import build_parser

    err = io.StringIO()
    try:
        with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
            build_parser().parse_args(args)
    except SystemExit as exit:
        return None if exit.code == 0 else err.getvalue().strip() or f"exit {exit.code}"
    return None


def makefile_targets() -> set[str]:
    text = (ROOT / "Makefile").read_text()
    return set(re.findall(r"^([A-Za-z][\w-]*):(?!=)", text, re.M))


def makefile_variables() -> set[str]:
    return set(re.findall(r"^([A-Z_]+)\s*[?:]?=", (ROOT / "Makefile").read_text(), re.M))


def make_parts(words: list[str]) -> tuple[list[str], dict[str, str]]:
    targets = [w for w in words[1:] if "=" not in w and not w.startswith("-")]
    variables = dict(w.split("=", 1) for w in words[1:] if "=" in w)
    return targets, variables


def recipe_commands(words: list[str], cwd: Path) -> list[list[str]]:
    """The commands `make` would run for ``words`` (``make -n``), split into words."""
    proc = subprocess.run(["make", "-n", *words[1:]], cwd=cwd, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, f"make -n {shlex.join(words[1:])}: {proc.stderr}"
    return [shlex.split(line) for line in proc.stdout.splitlines() if line.strip()]


def evidence_error(item: str) -> str | None:
    if item.startswith(".ci/run: "):
        wanted = item.split(": ", 1)[1]
        text = (ROOT / ".ci" / "run").read_text()
        return None if re.search(rf"^\s*{re.escape(wanted)}\s*$", text, re.M) else f".ci/run does not run {wanted}"
    path, _, name = item.partition("::")
    if not (ROOT / path).is_file():
        return f"{path} does not exist"
    if not re.search(rf"^def {re.escape(name)}\(", (ROOT / path).read_text(), re.M):
        return f"{path} has no test {name}"
    return None


# --- the extraction itself ----------------------------------------------------------------------


def test_commands_are_read_with_continuations_comments_and_indented_fences():
    text = (
        "intro\n\n1. step\n\n   ```bash\n   snakemake a/b.json \\\n       --cores 2   # comment\n"
        "   make setup && source .venv/bin/activate\n   X=1 mtlner tag --help\n   ```\n\n"
        "```yaml\n# config/mine.yaml\ntasks: {t: {entity: gene}}\n```\n\n```python\nprint()\n```\n"
    )
    blocks = fenced_blocks(text)
    assert [lang for lang, _, _ in blocks] == ["bash", "yaml", "python"]
    commands = split_commands(blocks[0][2], "x.md", blocks[0][1])
    assert [c.words for c in commands] == [
        ["snakemake", "a/b.json", "--cores", "2"],
        ["make", "setup"],
        ["source", ".venv/bin/activate"],
        ["X=1", "mtlner", "tag", "--help"],
    ]
    assert commands[0].line == 6 and commands[1].line == 8
    assert yaml_edit(blocks[1][2]) == ("config/mine.yaml", {"tasks": {"t": {"entity": "gene"}}})
    assert yaml_edit("tasks: {}") is None  # a config excerpt, not an edit


def test_every_documented_command_is_of_a_known_kind():
    commands = all_commands()
    kinds = [kind(c) for c in commands]
    # the docs show these kinds; an extractor that finds nothing would pass everything below
    assert {"snakemake", "make", "mtlner", "run", "not_run", "yaml"} <= set(kinds)
    assert sum(k == "snakemake" for k in kinds) >= 20
    unknown = [f"{c.where}: {c.text}" for c, k in zip(commands, kinds) if k == "unknown"]
    assert not unknown, (
        "documented commands this test does not know (run them here, or add them to NOT_RUN with "
        "the reason and a check):\n" + "\n".join(unknown)
    )


def test_commands_that_are_not_run_pass_their_check():
    failures = []
    for command in all_commands():
        if kind(command) == "not_run":
            error = NOT_RUN[command.words[0]][1](command.words)
            if error:
                failures.append(f"{command.where}: {command.text}: {error}")
    assert not failures, "\n".join(failures)


def test_mtlner_commands_parse():
    """Block commands parse whole; one in running text (`mtlner analysis`) names a real subcommand,
    and parses whole when it gives options."""
    import importlib.util

    failures, checked = [], 0
    for command in all_commands():
        if kind(command) == "module":
            checked += 1
            if importlib.util.find_spec(command.words[2]) is None:
                failures.append(f"{command.where}: {command.text}: no module {command.words[2]}")
        if kind(command) != "mtlner":
            continue
        checked += 1
        args = mtlner_args(command.words)
        if command.inline and not any(a.startswith("-") for a in args):
            args = [*args, "--help"]  # the subcommand path only
        if error := parse_error(args):
            failures.append(f"{command.where}: {command.text}:\n  {error}")
    assert checked >= 8
    assert not failures, "\n".join(failures)


def test_make_targets_are_real_and_covered(tmp_path):
    targets, variables = makefile_targets(), makefile_variables()
    assert {"demo", "test", "setup"} <= targets  # the Makefile is read
    stale = sorted(set(MAKE_TARGETS) - targets)
    assert not stale, f"MAKE_TARGETS names targets the Makefile does not have: {stale}"
    for target, evidence in MAKE_TARGETS.items():
        errors = [e for item in evidence if (e := evidence_error(item))]
        assert not errors, f"make {target}: {errors}"
    for name in ("Makefile", "pyproject.toml"):  # make -n needs the setup stamp's prerequisite
        shutil.copy(ROOT / name, tmp_path / name)
    failures, checked = [], 0
    for command in all_commands():
        if kind(command) != "make":
            continue
        checked += 1
        names, assigned = make_parts(command.words)
        for name in names:
            if name not in targets:
                failures.append(f"{command.where}: make {name}: no such target in the Makefile")
            elif name not in MAKE_TARGETS:
                failures.append(f"{command.where}: make {name}: add it to MAKE_TARGETS with the test that covers it")
        for key, value in assigned.items():
            if key not in variables:
                failures.append(f"{command.where}: {key}= is no variable of the Makefile")
            elif "/" in value and not (ROOT / value).exists():
                failures.append(f"{command.where}: {key}={value}: no such file")
        for words in recipe_commands(command.words, tmp_path):
            if Path(words[0]).name == "mtlner" and (error := parse_error(words[1:])):
                failures.append(f"{command.where}: the recipe's {shlex.join(words)}: {error}")
    assert checked >= 5
    assert not failures, "\n".join(failures)


# --- running them -------------------------------------------------------------------------------

# what a copy of the checkout leaves out: outputs, environments, downloads
_SKIP_TOP = {".git", ".venv", "results", ".snakemake", ".pytest_cache", "build", "report.html"}


def _ignore(directory: str, names: list[str]) -> set[str]:
    skipped = {n for n in names if n == "__pycache__" or n.endswith(".egg-info")}
    here = Path(directory).resolve()
    if here == ROOT:
        skipped |= _SKIP_TOP & set(names)
    if here == ROOT / "resources":
        skipped |= {"huner"} & set(names)  # downloads (.gitignore)
    return skipped


def checkout_copy(tmp_path: Path) -> Path:
    copy = tmp_path / "checkout"
    shutil.copytree(ROOT, copy, ignore=_ignore, symlinks=True)
    (copy / "results").mkdir()
    return copy


def deep_merge(base: dict, extra: dict) -> dict:
    merged = dict(base)
    for key, value in extra.items():
        merged[key] = (
            deep_merge(merged[key], value) if isinstance(value, dict) and isinstance(merged.get(key), dict) else value
        )
    return merged


def snakemake_env(extra: dict[str, str]) -> dict[str, str]:
    env = {k: v for k, v in cli_env(HF_HUB_OFFLINE="1").items() if k != "SNAKEMAKE_PROFILE"}
    env.update(extra)
    return env


def dry_run(words: list[str], cwd: Path, env: dict[str, str]) -> str | None:
    """A snakemake command as a dry run: ``-n`` in front, NOT_DRY_RUN options taken out; None when
    it exits 0, else the end of its output."""
    args = list(words[1:])
    for option, (_, test) in NOT_DRY_RUN.items():
        if option in args:
            assert evidence_error(test) is None, evidence_error(test)
            at = args.index(option)
            del args[at : at + 2]
    if not {"-n", "--dry-run", "--dryrun"} & set(args):
        args.insert(0, "-n")
    proc = subprocess.run(
        [sys.executable, "-m", "snakemake", *args],
        cwd=cwd,
        env=snakemake_env(env),
        capture_output=True,
        text=True,
        timeout=600,
    )
    if proc.returncode == 0 and "This was a dry-run" in proc.stdout + proc.stderr:
        return None
    # the end of the output without a traceback's source lines: the error itself
    lines = [
        line
        for line in (proc.stdout + proc.stderr).splitlines()
        if line.strip() and not re.match(r"^\s*(\^+|File \")", line)
    ]
    return f"exit {proc.returncode}: " + "\n    ".join(lines[-8:])


def run_doc(path: Path, tmp_path: Path) -> tuple[list[str], int]:
    copy = checkout_copy(tmp_path)
    failures, ran, results = [], 0, {}

    def cached_dry_run(words: list[str], env: dict[str, str]) -> str | None:
        """A dry run, once per command while the copy is unchanged (the same command shown twice)."""
        key = (tuple(words), tuple(sorted(env.items())))
        if key not in results:
            results[key] = dry_run(words, copy, env)
        return results[key]

    for command in commands_to_run(path):
        what = kind(command)
        error = None
        if what in {"yaml", "run"}:
            results.clear()  # files change
        if what == "yaml":
            name, keys = command.yaml_edit
            target = copy / name
            if not target.is_file():
                error = f"{name} does not exist: a command before this edit should create it"
            else:
                merged = deep_merge(yaml.safe_load(target.read_text()) or {}, keys)
                target.write_text(yaml.safe_dump(merged, sort_keys=False))
        elif what == "run":
            # through bash, unquoted where it can be: the docs' globs and braces expand
            line = " ".join(shlex.quote(w) if re.search(r"\s", w) else w for w in command.words)
            proc = subprocess.run(
                ["bash", "-c", line], cwd=copy, capture_output=True, text=True, env={**os.environ, **command.env}
            )
            if proc.returncode:
                error = proc.stderr.strip()
        elif what == "snakemake":
            ran += 1
            error = cached_dry_run(command.words, command.env)
        elif what == "make":
            for words in recipe_commands(command.words, copy):
                at = next((i for i, w in enumerate(words) if Path(w).name == "snakemake"), None)
                if at is not None and "--lint" not in words:  # make lint: .ci/run runs it
                    ran += 1
                    env = dict(w.split("=", 1) for w in words[:at] if re.match(r"^[A-Za-z_]\w*=", w))
                    if error := cached_dry_run(words[at:], {**command.env, **env}):
                        error = f"its recipe's {shlex.join(words[at:])}: {error}"
                        break
        if error:
            failures.append(f"{command.where}: {command.text}\n  {error}")
    return failures, ran


def commands_to_run(path: Path) -> list[Command]:
    """What test_documented_commands_run runs: the blocks' commands in order, then the snakemake
    commands of the running text."""
    return [*doc_commands(path), *(c for c in inline_commands(path) if kind(c) == "snakemake")]


DOCS_WITH_COMMANDS = [p for p in DOCS if any(kind(c) in {"snakemake", "make"} for c in commands_to_run(p))]


@pytest.mark.slow
@pytest.mark.parametrize("path", DOCS_WITH_COMMANDS, ids=lambda p: str(p.relative_to(ROOT)))
def test_documented_commands_run(path, tmp_path):
    """Each document's commands in order in one copy of the checkout; snakemake ones as dry runs."""
    failures, ran = run_doc(path, tmp_path)
    assert ran >= 1
    assert not failures, f"{len(failures)} documented command(s) fail:\n" + "\n".join(failures)


@pytest.mark.slow
def test_a_target_after_configfile_fails_the_dry_run(tmp_path):
    """The mistake issue 18 found in the docs: Snakemake 9 reads a target after --configfile as a
    second config file. The dry run sees it (the same command with the target first passes)."""
    copy = checkout_copy(tmp_path)
    target = "results/corpora/cellline_cll/stats.json"
    assert dry_run(["snakemake", target, "--cores", "2", "--configfile", "config/demo.yaml"], copy, {}) is None
    error = dry_run(["snakemake", "--cores", "2", "--configfile", "config/demo.yaml", target], copy, {})
    assert error is not None and target in error


# --- the configuration table (config/README.md) ------------------------------------------------


def shipped_config(name: str) -> dict:
    """A shipped config with the schema's defaults (and TrainConfig's for `training`) filled in."""
    import dataclasses

    from snakemake.utils import validate

    from mtlner.training.config import TrainConfig

    config = yaml.safe_load((ROOT / name).read_text())
    validate(config, str(ROOT / "workflow" / "schemas" / "config.schema.yaml"), set_default=True)
    defaults = {f.name: f.default for f in dataclasses.fields(TrainConfig) if f.default is not dataclasses.MISSING}
    config["training"] = {**defaults, **config["training"]}
    return config


def config_table() -> list[tuple[str, str]]:
    """(key, "paper / demo" cell) of each row of config/README.md's configuration table."""
    rows, inside = [], False
    for line in (ROOT / "config" / "README.md").read_text(encoding="utf-8").splitlines():
        if re.match(r"^\|\s*key\s*\|\s*meaning\s*\|\s*paper / demo\s*\|", line):
            inside = True
        elif inside and not line.startswith("|"):
            break
        elif inside and not re.match(r"^\|[-| ]+\|$", line):
            cells = [c.strip() for c in re.split(r"(?<!\\)\|", line.strip())[1:-1]]
            rows.append((re.match(r"`([\w.<>*]+)`", cells[0]).group(1), cells[-1]))
    return rows


def cell_mismatch(key: str, cell: str, config: dict) -> str | None:
    """What is wrong with one half of a table cell (`yaml` value, "none", or for tasks a count)."""
    name = key.split(".")[0]
    value = config.get(name)
    if name == "tasks":
        match = re.fullmatch(r"(\d+)(?: \(\+(\d+) evaluation-only\))?", cell)
        targets = len(config.get("cross_corpus_targets") or {})
        if not match:
            return f"write the task count as 'N' or 'N (+M evaluation-only)', not {cell!r}"
        if int(match.group(1)) != len(value) or int(match.group(2) or 0) != targets:
            return f"{cell!r}, but the config has {len(value)} tasks and {targets} evaluation-only targets"
        return None
    if cell == "none":
        return None if not value else f"'none', but the config has {value}"
    match = re.search(r"`([^`]*)`", cell)
    if not match:
        return f"write the value as `yaml` (or 'none'), not {cell!r}"
    shown = yaml.safe_load(match.group(1))
    if isinstance(value, dict) and isinstance(shown, dict):
        wrong = {k: v for k, v in shown.items() if value.get(k) != v}
        return None if not wrong else f"{shown}, but the config has { ({k: value.get(k) for k in wrong}) }"
    if isinstance(value, dict) and isinstance(shown, (str, list)):  # named entries: their names
        names = [shown] if isinstance(shown, str) else shown
        return None if sorted(names) == sorted(value) else f"{names}, but the config has {sorted(value)}"
    return None if shown == value else f"{shown!r}, but the config has {value!r}"


def test_config_readme_table_matches_the_shipped_configs():
    configs = {"paper": shipped_config("config.yaml"), "demo": shipped_config("config/demo.yaml")}
    rows = config_table()
    keys = [key for key, _ in rows]
    assert {"encoder", "windowing", "max_length", "tasks.<name>"} <= set(keys)  # the table is found
    failures, checked = [], 0
    for key, cell in rows:
        if not cell:
            continue  # no value shown, nothing to check
        halves = cell.split(" / ")
        if len(halves) != 2:
            failures.append(f"{key}: write the cell as 'paper / demo', not {cell!r}")
            continue
        if halves[1] == "the same":
            halves[1] = halves[0]
        for (label, config), half in zip(configs.items(), halves):
            checked += 1
            if error := cell_mismatch(key, half, config):
                failures.append(
                    f"{key}, {label} ({'config.yaml' if label == 'paper' else 'config/demo.yaml'}): {error}"
                )
    assert not failures, "config/README.md's configuration table disagrees with the shipped configs:\n" + "\n".join(
        failures
    )
    assert checked >= 20
