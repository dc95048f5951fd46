"""Figures draw error bars over seeds only where several seeds ran."""

import matplotlib.pyplot as plt
import pandas as pd

from mtlner.report.plots import fig4_f1_vs_size, fig6_stl_from_mtl

CORPUS = pd.DataFrame({"task": ["t1", "t2", "t3"], "entity": ["gene", "gene", "species"], "dataset": ["D1", "D2", "D3"],
                       "density_train": [0.1, 0.2, 0.3]})  # fmt: skip


def _results(seeds):
    rows = []
    for task, base in (("t1", 0.5), ("t2", 0.6), ("t3", 0.8)):
        entity = "species" if task == "t3" else "gene"
        for kind, without in (("stl", ""), ("stl_from_mtl", entity)):
            for ablation in (0.0, 0.5):
                for seed in seeds:
                    rows.append({"kind": kind, "without": without, "task": task, "ablation": ablation, "seed": seed, "split": "test",
                                 "level": "word", "f1": base - ablation / 10 + seed / 100,
                                     "train_windows_total": 100 * (1 + len(rows) % 3)})  # fmt: skip
    return pd.DataFrame(rows)


def _bar_lengths(fig):
    """Lengths of all error-bar segments drawn in the figure."""
    lengths = []
    for ax in fig.axes:
        for collection in ax.collections:
            for segment in getattr(collection, "get_segments", lambda: [])():
                if len(segment) == 2 and segment[0][0] == segment[1][0]:  # vertical
                    lengths.append(abs(segment[1][1] - segment[0][1]))
    plt.close(fig)
    return lengths


def test_two_seeds_give_sd_error_bars_one_seed_none():
    sd = pd.Series([0.01, 0.02]).std(ddof=1)  # f1 differs by 0.01 between seeds 1 and 2
    for figure in (fig4_f1_vs_size, fig6_stl_from_mtl):
        two = _bar_lengths(figure(_results([1, 2]), CORPUS))
        assert two and all(abs(length - 2 * sd) < 1e-9 for length in two)
        assert not any(_bar_lengths(figure(_results([1]), CORPUS)))
