"""Figures are saved deterministically: the same figure drawn twice gives the same SVG and PNG
bytes (matplotlib's SVG writer would otherwise stamp a creation date and draw random element
ids), so two runs of one commit can be compared byte for byte."""

import re

import matplotlib

from mtlner.report import plots


def _draw(folder):
    fig, ax = plots.plt.subplots(figsize=(2, 1.5))
    ax.plot([0, 1, 2], [0.2, 0.5, 0.4], marker="o", label="STL")  # markers, clip path, glyphs: ids
    ax.set_title("F1")
    ax.legend()
    folder.mkdir()
    plots._save(fig, folder / "fig")
    return (folder / "fig.svg").read_bytes(), (folder / "fig.png").read_bytes()


def test_the_same_figure_saved_twice_gives_the_same_bytes(tmp_path):
    salt = matplotlib.rcParams["svg.hashsalt"]
    svg_a, png_a = _draw(tmp_path / "a")
    svg_b, png_b = _draw(tmp_path / "b")
    assert re.search(rb'id="[^"]+"', svg_a)  # the figure has element ids, so the salt matters
    assert b"<dc:date>" not in svg_a
    assert svg_a == svg_b
    assert png_a == png_b
    assert matplotlib.rcParams["svg.hashsalt"] == salt  # the fixed salt does not leak out of _save
