"""ci/compare_outputs.py, the before/after comparison of two runs' results/ folders: what it
ignores (timings, each checkout's path, the SVG date and ids of an older commit's figures) and what it catches."""

import importlib.util
import json

from tests.helpers import ROOT, write

spec = importlib.util.spec_from_file_location("compare_outputs", ROOT / "ci" / "compare_outputs.py")
compare_outputs = importlib.util.module_from_spec(spec)
spec.loader.exec_module(compare_outputs)

SVG = """<svg><metadata><dc:date>{date}</dc:date></metadata>
<defs><path id="{a}" d="M 0 1"/></defs><g clip-path="url(#{b})"><use xlink:href="#{a}" x="1"/></g>
<clipPath id="{b}"/></svg>
"""


def _run(checkout, f1=0.5, seconds=1.0, table_f1="0.500", svg=("m1a", "p2b", "2026-01-01")):
    results = checkout / "results"
    metrics = {"kind": "stl", "train_seconds": seconds, "tasks": {"a": {"test": {"f1": f1}, "eval_seconds": seconds}}}
    metrics["init"] = str(checkout / "model")  # a path of the checkout it ran in
    write(results / "stl" / "a" / "metrics.json", json.dumps(metrics))
    write(results / "tables" / "table2.csv", f"task,f1,train_seconds\na,{table_f1},{seconds}\n")
    md = f"| task | f1 | device_hours |\n|---|---|---|\n| a | {table_f1} | {seconds} |\n\ntext\n"
    write(results / "tables" / "table2.md", md)
    write(results / "figures" / "fig.svg", SVG.format(a=svg[0], b=svg[1], date=svg[2]))
    write(results / "logs" / "train.log", f"took {seconds} s\n")
    (results / "figures" / "fig.png").write_bytes(b"\x89PNG" + table_f1.encode())
    return checkout


def test_runs_differing_only_in_timings_paths_and_svg_ids_match(tmp_path, capsys):
    before = _run(tmp_path / "before")
    after = _run(tmp_path / "after", seconds=9.5, svg=("mff", "p00", "2026-02-02"))
    assert compare_outputs.compare(before, after) == 0
    out = capsys.readouterr().out
    assert "no differences" in out
    assert "train_seconds (1)" in out and "eval_seconds (1)" in out  # what was left out is said
    assert "tables/table2.csv: timing columns not compared: train_seconds" in out
    assert "tables/table2.md: timing columns not compared: device_hours" in out


def test_a_changed_score_table_cell_figure_or_file_is_reported(tmp_path, capsys):
    before = _run(tmp_path / "before")
    after = _run(tmp_path / "after", f1=0.51, table_f1="0.510")
    write(after / "results" / "extra.txt", "new\n")
    assert compare_outputs.compare(before, after) == 1
    out = capsys.readouterr().out
    assert "stl/a/metrics.json: .tasks.a.test.f1: 0.5 -> 0.51" in out
    assert "tables/table2.csv: line 2" in out and "tables/table2.md: line 3" in out
    assert "figures/fig.png: bytes differ" in out and "extra.txt: only after" in out


def test_svg_drawn_differently_is_a_difference(tmp_path):
    a = compare_outputs.normalise_svg(SVG.format(a="m1", b="p2", date="x"))
    b = compare_outputs.normalise_svg(SVG.format(a="m3", b="p4", date="y"))
    assert a == b
    assert compare_outputs.normalise_svg(SVG.format(a="m1", b="p2", date="x").replace('x="1"', 'x="2"')) != a


def test_an_older_commits_svg_matches_the_same_figure_saved_now(tmp_path):
    """Earlier commits saved figures with matplotlib's defaults (a <dc:date>, ids from a random
    salt); mtlner.report.plots now writes neither: the comparison still finds them equal."""
    from mtlner.report import plots

    fig, ax = plots.plt.subplots(figsize=(2, 1.5))
    ax.plot([0, 1, 2], [0.2, 0.5, 0.4], marker="o", label="STL")
    ax.legend()
    fig.savefig(tmp_path / "old.svg", format="svg", dpi=150, bbox_inches="tight")  # the old way
    plots._save(fig, tmp_path / "new")
    old, new = (tmp_path / "old.svg").read_text(), (tmp_path / "new.svg").read_text()
    assert "<dc:date>" in old and "<dc:date>" not in new and old != new
    assert compare_outputs.normalise_svg(old) == compare_outputs.normalise_svg(new)


def test_a_saved_models_json_is_compared_whole(tmp_path, capsys):
    # a tokenizer vocabulary holds words such as "time" and "date": not timing fields there
    before, after = tmp_path / "before", tmp_path / "after"
    write(before / "results" / "mtl" / "model" / "encoder" / "tokenizer.json", json.dumps({"vocab": {"time": 1}}))
    write(after / "results" / "mtl" / "model" / "encoder" / "tokenizer.json", json.dumps({"vocab": {"time": 2}}))
    assert compare_outputs.compare(before, after) == 1
    assert "tokenizer.json: line 1" in capsys.readouterr().out
