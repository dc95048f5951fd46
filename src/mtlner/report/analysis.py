"""What the entity scores hide: seen vs unseen test mentions, and boundary errors.

Both read every job's test predictions (``token gold predicted``, ``-DOCSTART-`` between
documents) with mentions as strict IOB2 spans (``metrics.entity_spans``, the entity level).

- ``seen_unseen``: a test mention is *seen* when its surface form (case-folded tokens joined
  by a space) is a gold mention in the task's training windows as the job kept them
  (``windows.ablate`` with the job's ablation level and seed, so the split moves with the
  level), else *unseen*. A predicted mention is assigned by the same rule applied to its own
  surface form, so precision, recall and F1 are computed within each part; an exact match
  has one form, so it falls in the same part on both sides. F1 = 2 tp / (predicted + gold),
  empty (NaN) where a part has neither.
- ``boundary_errors``: beside strict F1, an overlap (lenient) F1 where a predicted mention
  counts if it shares a word with a gold mention (precision) and a gold mention counts if a
  prediction shares a word with it (recall); and the outcome counts ``exact`` (same span),
  ``boundary`` (a prediction that overlaps a gold mention but is not equal to one; split
  or merged mentions count once per prediction), ``missed`` (gold overlapped by no
  prediction), ``spurious`` (a prediction overlapping no gold), and ``boundary_gold`` (gold
  mentions overlapped only inexactly) so that gold = exact + boundary_gold + missed and
  predicted = exact + boundary + spurious.

Jobs are the rows of the collected results (kind, head, without, task, ablation, seed, source);
each job's predictions are ``bootstrap.prediction_path(source, task)`` and must be among the
files passed. Tables hold the mean over seeds (``_sd`` beside it with several seeds).
``seen_unseen`` and ``boundary_errors`` summarise the linear head's jobs only (``summarise``);
with CRF jobs the same per-job counts also give ``heads_seen_unseen``, ``heads_boundary_errors``
and ``fig_heads_strict_overlap`` (``mtlner.report.heads``).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from mtlner.report import heads as head_tables
from mtlner.report.bootstrap import prediction_path
from mtlner.errors import UserError
from mtlner.report.io import heads_of, linear_only
from mtlner.training.metrics import entity_spans

KINDS = ("stl", "mtl", "stl_from_mtl")
KIND_ORDER = {kind: i for i, kind in enumerate(KINDS)}
TABLES = ("seen_unseen", "boundary_errors")
TITLES = {
    "seen_unseen": "Seen vs unseen test mentions: a mention (gold or predicted, strict IOB2 span) is seen when its "
    "case-folded surface form is a mention in the task's training windows as the job kept them (after data "
    "ablation); entity-level precision, recall and F1 within each part",
    "boundary_errors": "Boundary errors: strict and overlap (lenient) entity F1; exact = same span, boundary = a "
    "prediction overlapping a gold mention but not equal to one, missed = gold overlapped by no prediction, "
    "spurious = prediction overlapping no gold, boundary_gold = gold overlapped only inexactly",
}


def table_names(heads=("linear",)) -> list[str]:
    """The tables `mtlner analysis` writes; ``heads``: the heads of the grid (config ``heads``)."""
    return list(TABLES) + (list(head_tables.ANALYSIS_TABLES) if "crf" in heads else [])


def figure_names(entity_ablation: bool = True, heads=("linear",)) -> list[str]:
    kinds = KINDS if entity_ablation else KINDS[:2]
    names = ["fig_unseen_data_ablation"] + [f"fig_boundary_errors_{kind}" for kind in kinds]
    return names + (list(head_tables.ANALYSIS_FIGURES) if "crf" in heads else [])


# --------------------------------------------------------------------------- reading


def surface(tokens: list[str], start: int, end: int) -> str:
    return " ".join(t.casefold() for t in tokens[start:end])


def read_tagged(path: str | Path) -> list[tuple[list[str], list[str], list[str]]]:
    """A predictions file as (tokens, gold tags, predicted tags) per sentence."""
    path = Path(path)
    try:
        lines = path.read_text(encoding="utf-8").split("\n")  # not splitlines(): a token may hold NEL, U+2028
    except OSError as err:
        raise UserError(f"cannot read predictions {path}: {err}", hint="rerun the training job that wrote it") from err
    sentences, current = [], ([], [], [])
    for number, line in enumerate(lines + [""], 1):
        columns = line.split("\t") if line.strip() else []
        if not columns or columns[0] == "-DOCSTART-":
            if current[0]:
                sentences.append(current)
            current = ([], [], [])
            continue
        if len(columns) < 3:
            raise UserError(
                f"{path}:{number}: expected 'token<TAB>gold<TAB>predicted', got {line!r}",
                hint="rerun the training job that wrote it",
            )
        for column, value in zip(current, (columns[0], columns[-2], columns[-1])):
            column.append(value)
    return sentences


def training_forms(windows) -> set[str]:
    """Surface forms of the gold mentions in a list of training windows."""
    from mtlner.data.labels import LABELS

    words, tags = [], []
    for w in windows:
        start = 0
        for n in w.sentence_lengths:
            words.append(w.words[start : start + n])
            tags.append([LABELS[w.labels[i]] for i in w.word_ends[start : start + n]])
            start += n
    return {surface(words[s], a, b) for s, a, b in entity_spans(tags)}


# --------------------------------------------------------------------------- counting


def _f1(tp, predicted, gold) -> float:
    return 2 * tp / (predicted + gold) if predicted + gold else float("nan")


def _ratio(a, b) -> float:
    return a / b if b else float("nan")


def seen_unseen_counts(sentences, forms: set[str]) -> dict[str, int]:
    """tp, predicted and gold mentions in each part (seen/unseen) of one job's test set."""
    gold = entity_spans([g for _, g, _ in sentences])
    predicted = entity_spans([p for _, _, p in sentences])
    counts = {f"{what}_{part}": 0 for what in ("gold", "pred", "tp") for part in ("seen", "unseen")}
    for spans, what in ((gold, "gold"), (predicted, "pred")):
        for s, a, b in spans:
            part = "seen" if surface(sentences[s][0], a, b) in forms else "unseen"
            counts[f"{what}_{part}"] += 1
            if what == "gold" and (s, a, b) in predicted:
                counts[f"tp_{part}"] += 1
    return counts


def _overlaps(span: tuple[int, int], others) -> bool:
    return any(a < span[1] and span[0] < b for a, b in others)


def boundary_counts(sentences) -> dict[str, int]:
    """Outcome counts of one job's test set (see the module docstring)."""
    gold = entity_spans([g for _, g, _ in sentences])
    predicted = entity_spans([p for _, _, p in sentences])
    by_sentence: dict[int, tuple[list, list]] = {}
    for spans, side in ((gold, 0), (predicted, 1)):
        for s, a, b in spans:
            by_sentence.setdefault(s, ([], []))[side].append((a, b))
    counts = dict.fromkeys(("gold", "predicted", "exact", "boundary", "boundary_gold", "missed", "spurious"), 0)
    for g_spans, p_spans in by_sentence.values():
        counts["gold"] += len(g_spans)
        counts["predicted"] += len(p_spans)
        exact = set(g_spans) & set(p_spans)
        counts["exact"] += len(exact)
        for span in set(p_spans) - exact:
            counts["boundary" if _overlaps(span, g_spans) else "spurious"] += 1
        for span in set(g_spans) - exact:
            counts["boundary_gold" if _overlaps(span, p_spans) else "missed"] += 1
    return counts


def _seen_unseen_scores(c: dict) -> dict:
    out = {}
    for part in ("seen", "unseen"):
        tp, pred, gold = c[f"tp_{part}"], c[f"pred_{part}"], c[f"gold_{part}"]
        out |= {
            f"precision_{part}": _ratio(tp, pred),
            f"recall_{part}": _ratio(tp, gold),
            f"f1_{part}": _f1(tp, pred, gold),
        }
    out["share_unseen"] = _ratio(c["gold_unseen"], c["gold_seen"] + c["gold_unseen"])
    return out


def _boundary_scores(c: dict) -> dict:
    p_overlap = _ratio(c["exact"] + c["boundary"], c["predicted"])
    r_overlap = _ratio(c["exact"] + c["boundary_gold"], c["gold"])
    overlap = 2 * p_overlap * r_overlap / (p_overlap + r_overlap) if p_overlap + r_overlap > 0 else 0.0
    return {
        "f1_strict": _f1(c["exact"], c["predicted"], c["gold"]),
        "f1_overlap": overlap,
        "p_overlap": p_overlap,
        "r_overlap": r_overlap,
    }


# --------------------------------------------------------------------------- jobs


def _jobs(results: pd.DataFrame) -> pd.DataFrame:
    rows = results[(results["split"] == "test") & (results["level"] == "entity") & results["kind"].isin(KINDS)]
    rows = rows[(rows["kind"] != "mtl") | (rows["without"] == "")]  # MTL without a type: no test predictions kept
    rows = rows.assign(head=heads_of(rows))
    return rows[["kind", "head", "without", "task", "ablation", "seed", "train_windows", "source"]].drop_duplicates()


def analyse(results: pd.DataFrame, predictions, windows: dict[str, str | Path]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Per job and task (one row per seed and head): seen/unseen counts and boundary counts.

    ``predictions``: every job's predictions file; ``windows``: task -> its train.pt cache.
    """
    from mtlner.data.windows import ablate, load_windows

    given = {Path(p).resolve(): Path(p) for p in predictions}
    loaded: dict[str, list] = {}
    forms: dict[tuple, set[str]] = {}
    seen_rows, boundary_rows = [], []
    for job in _jobs(results).itertuples(index=False):
        path = prediction_path(job.source, job.task)
        if path.resolve() not in given:
            raise UserError(
                f"no predictions given for task {job.task} of {job.source} (expected {path})",
                hint="pass every job's predictions/<task>.test.tsv with --predictions",
            )
        if job.task not in windows:
            raise UserError(
                f"no training windows given for task {job.task}",
                hint="pass --windows TASK=results/windows/<key>/<task>/train.pt",
            )
        if job.task not in loaded:
            loaded[job.task] = load_windows(windows[job.task])[0]
        key = (job.task, float(job.ablation), int(job.seed))
        kept = ablate(loaded[job.task], float(job.ablation), int(job.seed))
        if len(kept) != int(job.train_windows):
            raise UserError(
                f"{windows[job.task]} gives {len(kept)} training windows at ablation {job.ablation}, seed {job.seed}, "
                f"but {job.source} trained on {job.train_windows}",
                hint="the window cache changed after training; rerun the training job (snakemake reruns it)",
            )
        if key not in forms:
            forms[key] = training_forms(kept)
        sentences = read_tagged(given[path.resolve()])
        base = {
            "kind": job.kind,
            "head": job.head,
            "without": job.without,
            "task": job.task,
            "ablation": float(job.ablation),
            "seed": int(job.seed),
        }
        counts = seen_unseen_counts(sentences, forms[key])
        seen_rows.append(base | {"train_forms": len(forms[key])} | counts | _seen_unseen_scores(counts))
        counts = boundary_counts(sentences)
        boundary_rows.append(base | counts | _boundary_scores(counts))
    return pd.DataFrame(seen_rows), pd.DataFrame(boundary_rows)


SEEN_COLUMNS = [
    "f1_seen", "f1_unseen", "recall_seen", "recall_unseen", "precision_seen", "precision_unseen",
    "gold_seen", "gold_unseen", "share_unseen", "pred_seen", "pred_unseen", "train_forms",
]  # fmt: skip
BOUNDARY_COLUMNS = [
    "f1_strict",
    "f1_overlap",
    "p_overlap",
    "r_overlap",
    "gold",
    "predicted",
    "exact",
    "boundary",
    "boundary_gold",
    "missed",
    "spurious",
]
COUNTS = {"gold_seen", "gold_unseen", "pred_seen", "pred_unseen", "train_forms", *BOUNDARY_COLUMNS[4:]}


def summarise(per_seed: pd.DataFrame, corpus: pd.DataFrame, columns: list[str]) -> pd.DataFrame:
    """Mean over seeds per (kind, without, task, ablation) of the linear head's jobs, ``_sd``
    beside each where several seeds ran; named and ordered like the other tables."""
    keys = ["kind", "without", "task", "ablation"]
    per_seed = linear_only(per_seed)
    if per_seed.empty:
        return pd.DataFrame(columns=["kind", "without", "ablation", "entity", "dataset", "task", *columns])
    grouped = per_seed.groupby(keys, sort=False)[columns]
    out = grouped.mean()
    if grouped.size().max() > 1:
        out = out.join(grouped.std(ddof=1).add_suffix("_sd"))
        out = out[[c for column in columns for c in (column, f"{column}_sd")]]
    out = corpus[["task", "entity", "dataset"]].merge(out.reset_index(), on="task", how="inner")
    for column in COUNTS & set(columns):  # counts stay integers where no seed mean made them fractional
        if np.allclose(out[column], out[column].round()):
            out[column] = out[column].round().astype(int)
    out = out.assign(_order=out["kind"].map(KIND_ORDER)).sort_values(
        ["_order", "without", "ablation", "entity", "dataset"]
    )
    first = ["kind", "without", "ablation", "entity", "dataset", "task"]
    return out[first + [c for c in out.columns if c not in first and c != "_order"]].reset_index(drop=True)


def write_analysis(
    results_csv, corpus_stats, predictions, windows: dict[str, str], tables_dir, figures_dir
) -> list[Path]:
    """Both tables (CSV + Markdown) and their figures (PNG + SVG); with CRF jobs also the head
    comparisons (``head_tables.ANALYSIS_TABLES`` and ``ANALYSIS_FIGURES``)."""
    from mtlner.report import plots
    from mtlner.report.io import load_corpus_stats, load_results, write_table

    results = load_results(results_csv)
    corpus = load_corpus_stats(corpus_stats)
    seen, boundary = analyse(results, predictions, windows)
    frames = {
        "seen_unseen": summarise(seen, corpus, SEEN_COLUMNS),
        "boundary_errors": summarise(boundary, corpus, BOUNDARY_COLUMNS),
    }
    titles = dict(TITLES)
    crf = "crf" in head_tables.heads_in(results)
    if crf:
        frames["heads_seen_unseen"] = head_tables.heads_seen_unseen_table(seen, corpus)
        frames["heads_boundary_errors"] = head_tables.heads_boundary_table(boundary, corpus)
        titles |= head_tables.TITLES
    written = []
    for name, frame in frames.items():
        written += write_table(frame, Path(tables_dir) / name, titles[name])
    has_ea = (linear_only(results)["kind"] == "stl_from_mtl").any()
    figures = {"fig_unseen_data_ablation": lambda: plots.fig_unseen_data_ablation(frames["seen_unseen"])}
    for kind in KINDS if has_ea else KINDS[:2]:
        figures[f"fig_boundary_errors_{kind}"] = lambda kind=kind: plots.fig_boundary_errors(
            frames["boundary_errors"], kind
        )
    if crf:
        figures["fig_heads_strict_overlap"] = lambda: plots.fig_heads_strict_overlap(frames["heads_boundary_errors"])
    for name, draw in figures.items():
        base = Path(figures_dir) / name
        plots._save(draw(), base)
        written += [Path(f"{base}.png"), Path(f"{base}.svg")]
    return written
