"""For merging a branch written before the package was grouped by stage (issue 20): rewrites its
references to the old module names (``mtlner.train``, ``-m mtlner.forkserver``, ``from .corpus
import`` in a top-level module, ``src/mtlner/huner/...``) to the new layout. Idempotent: it touches
only names that are stale (tests/test_import_layers.py lists any left). Run from the repository
root after the merge, then ``git diff`` what it changed. A new top-level module of that branch
is moved by hand first (``git mv src/mtlner/configload.py src/mtlner/run/configload.py``); the
MAP below already sends ``mtlner.configload`` there. Delete this file once no such branch is left."""

import re
import subprocess
from pathlib import Path

MAP = {
    "corpus": "data.corpus",
    "windows": "data.windows",
    "leaks": "data.leaks",
    "mirror": "data.mirror",
    "huner": "data.huner",
    "labels": "data.labels",
    "configload": "run.configload",
    "trainconfig": "training.config",
    "model": "training.model",
    "inference": "training.inference",
    "metrics": "training.metrics",
    "train": "training.loop",
    "crf": "training.crf",
    "tables": "report.tables",
    "plots": "report.plots",
    "stats": "report.stats",
    "bootstrap": "report.bootstrap",
    "analysis": "report.analysis",
    "crosscorpus": "report.crosscorpus",
    "cost": "report.cost",
    "storage": "report.storage",
    "reference": "report.reference",
    "results": "report.results",
    "forkserver": "run.forkserver",
    "gpu_slots": "run.gpu_slots",
    "sizing": "run.sizing",
    "startup": "run.startup",
    "configpaths": "run.configpaths",
    "tag": "tag.pipeline",
}
KEEP = {"cli", "errors", "atomic", "data", "training", "report", "run", "tag", "__main__"}
# `mtlner.<old>` not already followed by a new-layout continuation
DOTTED = re.compile(
    r"(?<![\w./-])mtlner\.(" + "|".join(sorted(MAP, key=len, reverse=True)) + r")\b(?!\.(?:pipeline|text|writers)\b)"
)
TOP_REL = re.compile(r"^(\s*)from \.(\w*) import (.*)$", re.M)
PATHS = re.compile(r"src/mtlner/(" + "|".join(n for n in MAP if n != "huner") + r")\.py")


def fix_top_relative(text):
    def sub(m):
        indent, name, rest = m.groups()
        if name:
            return f"{indent}from mtlner.{MAP.get(name, name)} import {rest}"
        items = [i.strip() for i in rest.split(",")]
        out = []
        for item in items:
            nm = item.split(" as ")[0]
            parent, _, leaf = ("mtlner." + MAP.get(nm, nm)).rpartition(".")
            out.append(f"{indent}from {parent} import {item.replace(nm, leaf, 1)}")
        return "\n".join(out)

    return TOP_REL.sub(sub, text)


# names that moved to another module after the move (label scheme, cross-corpus scoring, table
# I/O, the leak table, tag's input and output): (module, name) -> (module, new name)
SYMBOLS = {
    **{
        ("data.windows", n): ("data.labels", n)
        for n in ("LABELS", "LABEL_ID", "SPECIAL", "LABEL_SUBWORDS", "word_positions")
    },
    **{("training.inference", n): ("data.labels", n) for n in ("IGNORE", "iob_spans")},
    **{
        ("report.crosscorpus", n): ("training.cross_test", n)
        for n in ("Target", "load_target", "pairs", "check_windows", "prepare", "cross_test", "evaluator")
    },
    **{("report.tables", n): ("report.io", n) for n in ("to_markdown", "load_results", "load_corpus_stats", "_fmt")},
    ("data.leaks", "write_audit"): ("report.leak_audit", "write_audit"),
    **{
        ("tag.pipeline", n): ("tag.text", n)
        for n in ("TextDocument", "read_text", "segment", "untaggable_tokens", "MAX_TOKEN_CHARS", "UNKNOWN_RUN_CHARS")
    },
    ("tag.pipeline", "WARN_EACH"): ("tag.text", "WARN_EACH"),
    ("tag.pipeline", "_warn_untaggable"): ("tag.text", "warn_untaggable"),
    ("tag.pipeline", "_model_words"): ("tag.text", "model_words"),
    **{("tag.pipeline", n): ("tag.writers", n) for n in ("check_output", "xml_safe", "WRITERS", "FORMATS")},
    ("tag.pipeline", "_write"): ("tag.writers", "write_output"),
}
FROM = re.compile(r"^(\s*)from mtlner\.([\w.]+) import (\([^)]*\)|[^\n]*)", re.M)
FROM_PACKAGE = re.compile(r"^(\s*)from mtlner import ([^\n(]*)$", re.M)


def _names(body: str) -> tuple[list[str], str]:
    body, _, comment = body.strip().strip("()").partition("#")
    return [n.strip() for n in body.replace("\n", " ").split(",") if n.strip()], ("  #" + comment if comment else "")


def move_symbols(text: str) -> str:
    def sub(m):
        indent, module, body = m.groups()
        names, comment = _names(body)
        groups: dict[str, list[str]] = {}
        for item in names:
            name, _, alias = item.partition(" as ")
            target, new = SYMBOLS.get((module, name.strip()), (module, name.strip()))
            groups.setdefault(target, []).append(new + (f" as {alias.strip()}" if alias else ""))
        if list(groups) == [module] and groups[module] == names:
            return m.group(0)
        return "\n".join(f"{indent}from mtlner.{k} import {', '.join(v)}{comment}" for k, v in groups.items())

    return FROM.sub(sub, text)


def split_package_imports(text: str) -> str:
    """from mtlner import startup, sizing -> from mtlner.run import sizing, startup"""

    def sub(m):
        indent, body = m.groups()
        names, comment = _names(body)
        groups: dict[str, list[str]] = {}
        for item in names:
            name = item.split(" as ")[0].strip()
            parent, _, leaf = ("mtlner." + MAP.get(name, name)).rpartition(".")
            groups.setdefault(parent, []).append(item.replace(name, leaf, 1))
        return "\n".join(f"{indent}from {k} import {', '.join(v)}{comment}" for k, v in groups.items())

    return FROM_PACKAGE.sub(sub, text)


files = subprocess.run(["git", "ls-files"], capture_output=True, text=True, check=True).stdout.split()
for f in files:
    p = Path(f)
    if f == "tests/test_import_layers.py" or f.startswith("ci/rename_old_module_names"):  # their own examples
        continue
    if not p.is_file() or p.suffix not in {".py", ".smk", ".md", ".sh", ".yaml", ".toml", ".rst", ""}:
        continue
    try:
        text = p.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        continue
    new = text
    if f.startswith("src/mtlner/") and f.count("/") == 2 and f.endswith(".py"):
        new = fix_top_relative(new)
    new = DOTTED.sub(lambda m: "mtlner." + MAP[m.group(1)], new)
    new = split_package_imports(new)
    new = move_symbols(new) if p.suffix in {".py", ".smk", ""} else new
    new = PATHS.sub(lambda m: "src/mtlner/" + MAP[m.group(1)].replace(".", "/") + ".py", new)
    new = re.sub(r"src/mtlner/huner\b", "src/mtlner/data/huner", new)
    if new != text:
        p.write_text(new, encoding="utf-8")
        print(f)
