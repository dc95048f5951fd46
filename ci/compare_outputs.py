"""Compare two runs' results/ folders (ci/compare_outputs.sh): BEFORE and AFTER are the two
checkouts the runs were made in (each holds results/).

- metrics.json and other JSON files: equal once timing and execution fields are dropped (keys
  named in TIMING_KEY, at any depth; every dropped key is counted in the report);
- tables (.csv, .md): byte-identical, except columns whose header names a timing (TIMING_KEY):
  those are dropped from both sides first and named in the report;
- everything else (predictions, tag output, figures, saved models with their JSON files):
  byte-identical.
Text files are compared after each checkout's own path is replaced by ``<checkout>``: a run in
another folder writes that folder's path, which is not a change of behaviour. Logs and
Snakemake benchmark files (timings only) are skipped. Exits 1 on any difference."""

import argparse
import csv
import io
import json
import re
import sys
from collections import Counter
from pathlib import Path

# Fields that measure the run rather than its result: wall times and their shares, throughput,
# peak memory, when and where it ran, library versions, how it was launched (fork server or not).
TIMING_KEY = re.compile(
    r"(^|_)(seconds|secs|hours|time|timestamp|date|wall|elapsed|throughput|per_second|peak|"
    r"host|hostname|version|versions|launch)($|_)|(train|eval|checkpoint)_share|hours|seconds",
    re.IGNORECASE,
)
# Since mtlner.report.plots fixes svg.hashsalt and drops the date, two runs of one commit write
# byte-identical SVGs. Earlier commits' SVGs carry a creation date in <dc:date> and element ids
# drawn from a random salt, so for a comparison against an older ref the date element is dropped
# (whole: a new SVG has none) and ids are renamed in order of appearance before comparing.
SVG_DATE = re.compile(r"\s*<dc:date>[^<]*</dc:date>")
SVG_ID = re.compile(r'id="([^"]+)"')
SKIP_DIRS = {"logs", "benchmarks", ".work", ".snakemake"}
TEXT = {".json", ".csv", ".md", ".tsv", ".txt", ".jsonl", ".conll", ".bioc", ".xml", ".yaml", ".svg"}


def files(results: Path) -> set[str]:
    found = set()
    for path in results.rglob("*"):
        rel = path.relative_to(results)
        if path.is_file() and not SKIP_DIRS.intersection(rel.parts):
            found.add(rel.as_posix())
    return found


def drop_timing(obj, dropped: Counter, where=""):
    if isinstance(obj, dict):
        out = {}
        for k, v in obj.items():
            if TIMING_KEY.search(str(k)):
                dropped[k] += 1
            else:
                out[k] = drop_timing(v, dropped, f"{where}.{k}")
        return out
    if isinstance(obj, list):
        return [drop_timing(v, dropped, where) for v in obj]
    return obj


def json_diffs(a, b, where="") -> list[str]:
    if isinstance(a, dict) and isinstance(b, dict):
        out = []
        for k in sorted(set(a) | set(b), key=str):
            if k not in a or k not in b:
                out.append(f"{where}.{k}: only in {'after' if k not in a else 'before'}")
            else:
                out += json_diffs(a[k], b[k], f"{where}.{k}")
        return out
    if isinstance(a, list) and isinstance(b, list) and len(a) == len(b):
        return [d for i, (x, y) in enumerate(zip(a, b)) for d in json_diffs(x, y, f"{where}[{i}]")]
    return [] if a == b else [f"{where or '.'}: {json.dumps(a)[:80]} -> {json.dumps(b)[:80]}"]


def timing_columns(header: list[str]) -> list[int]:
    return [i for i, name in enumerate(header) if TIMING_KEY.search(name.strip())]


def drop_csv_columns(text: str) -> tuple[str, list[str]]:
    rows = list(csv.reader(io.StringIO(text)))
    if not rows:
        return text, []
    drop = timing_columns(rows[0])
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerows([v for i, v in enumerate(r) if i not in drop] for r in rows)
    return out.getvalue(), [rows[0][i] for i in drop]


def drop_md_columns(text: str) -> tuple[str, list[str]]:
    out, names, drop = [], [], None  # drop: the current table's timing columns (None: no table)
    for line in text.split("\n"):
        if not line.startswith("|"):
            drop = None
            out.append(line)
            continue
        cells = line.strip().strip("|").split("|")
        if drop is None:  # a table's header row
            drop = timing_columns(cells)
            names += [cells[i].strip() for i in drop]
        out.append("|".join(c for i, c in enumerate(cells) if i not in drop))
    return "\n".join(out), names


def normalise_svg(text: str) -> str:
    text = SVG_DATE.sub("", text)
    ids = {}
    for name in SVG_ID.findall(text):
        ids.setdefault(name, f"id{len(ids)}")
    if not ids:
        return text
    pattern = re.compile(r'(id="|#)(' + "|".join(map(re.escape, sorted(ids, key=len, reverse=True))) + r")\b")
    return pattern.sub(lambda m: m.group(1) + ids[m.group(2)], text)


def first_line_diff(a: str, b: str) -> str:
    for n, (x, y) in enumerate(zip(a.splitlines(), b.splitlines()), 1):
        if x != y:
            return f"line {n}: {x[:100]!r} -> {y[:100]!r}"
    return f"lengths differ: {len(a.splitlines())} vs {len(b.splitlines())} lines"


def compare(before: Path, after: Path) -> int:
    ra, rb = before / "results", after / "results"
    fa, fb = files(ra), files(rb)
    problems, dropped_keys, dropped_cols = [], Counter(), {}
    for rel in sorted(fa - fb):
        problems.append(f"{rel}: only before")
    for rel in sorted(fb - fa):
        problems.append(f"{rel}: only after")
    same = sorted(fa & fb)
    for rel in same:
        pa, pb = ra / rel, rb / rel
        suffix = pa.suffix.lower()
        if suffix not in TEXT:
            if pa.read_bytes() != pb.read_bytes():
                problems.append(f"{rel}: bytes differ")
            continue
        ta = pa.read_text(encoding="utf-8").replace(str(before), "<checkout>")
        tb = pb.read_text(encoding="utf-8").replace(str(after), "<checkout>")
        if suffix == ".json" and "model" not in Path(rel).parts:  # a model's JSON: vocabularies, compared whole
            try:
                ja, jb = json.loads(ta), json.loads(tb)
            except json.JSONDecodeError as err:
                problems.append(f"{rel}: not JSON ({err})")
                continue
            diffs = json_diffs(drop_timing(ja, dropped_keys), drop_timing(jb, Counter()))
            problems += [f"{rel}: {d}" for d in diffs[:10]]
            if len(diffs) > 10:
                problems.append(f"{rel}: ... {len(diffs) - 10} more differences")
            continue
        if suffix in (".csv", ".md"):
            drop = drop_csv_columns if suffix == ".csv" else drop_md_columns
            (ta, cols), (tb, _) = drop(ta), drop(tb)
            if cols:
                dropped_cols[rel] = cols
        if suffix == ".svg":
            ta, tb = normalise_svg(ta), normalise_svg(tb)
        if ta != tb:
            problems.append(f"{rel}: {first_line_diff(ta, tb)}")
    print(f"compare_outputs: {len(same)} files in both results/ folders ({', '.join(sorted(SKIP_DIRS))} skipped)")
    if dropped_keys:
        keys = ", ".join(f"{k} ({n})" for k, n in sorted(dropped_keys.items()))
        print(f"  timing/execution JSON fields not compared: {keys}")
    for rel, cols in sorted(dropped_cols.items()):
        print(f"  {rel}: timing columns not compared: {', '.join(cols)}")
    if problems:
        print(f"compare_outputs: {len(problems)} differences")
        for p in problems:
            print(f"  {p}")
        return 1
    print("compare_outputs: no differences")
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("before", type=Path, help="checkout whose results/ is the reference")
    parser.add_argument("after", type=Path, help="checkout whose results/ is compared with it")
    args = parser.parse_args()
    return compare(args.before.resolve(), args.after.resolve())


if __name__ == "__main__":
    sys.exit(main())
