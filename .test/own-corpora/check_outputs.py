"""Every table and figure the default target promises is in RESULTS, non-empty and well formed.

Usage: python check_outputs.py RESULTS [--paper] [--entity-ablation] [--cross ENTITY ...]
The names come from the package (the same functions workflow/rules/report.smk asks)."""

import argparse
import sys
from pathlib import Path

from mtlner.report import analysis, crosscorpus
from mtlner.report.plots import figure_names
from mtlner.report.tables import table_names

parser = argparse.ArgumentParser()
parser.add_argument("results", type=Path)
parser.add_argument("--paper", action="store_true")
parser.add_argument("--entity-ablation", action="store_true")
parser.add_argument("--cross", nargs="*", default=[])
args = parser.parse_args()

tables = table_names(entity_ablation=args.entity_ablation, paper=args.paper, baseline=False)
tables += ["storage", "cost", "cost_projection", *analysis.TABLES, "leak_audit", "cross_corpus"]
figures = figure_names(entity_ablation=args.entity_ablation)
figures += analysis.figure_names(entity_ablation=args.entity_ablation)
figures += [crosscorpus.figure_name(e) for e in args.cross]
problems = []
for name in tables:
    for ext in ("csv", "md"):
        path = args.results / "tables" / f"{name}.{ext}"
        if not path.is_file() or path.stat().st_size == 0:
            problems.append(f"missing or empty: {path}")
for name in figures:
    png, svg = (args.results / "figures" / f"{name}.{ext}" for ext in ("png", "svg"))
    if not png.is_file() or png.read_bytes()[:4] != b"\x89PNG":
        problems.append(f"missing or not a PNG: {png}")
    if not svg.is_file() or b"<svg" not in svg.read_bytes()[:2000]:
        problems.append(f"missing or not an SVG: {svg}")
for line in problems:
    print(f"check_outputs: {line}", file=sys.stderr)
print(f"check_outputs: {len(tables)} tables, {len(figures)} figures checked in {args.results}, {len(problems)} problems")
sys.exit(1 if problems else 0)
