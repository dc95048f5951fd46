"""Command-line entry points; the Snakemake rules call these, and so can users.

    mtlner prepare   normalise one task's CoNLL split files and count them (Table 1)
    mtlner windows   tokenise and pack one task into encoder windows (cached)
    mtlner train     train STL / MTL / STL-from-MTL, select on dev, score on test
    mtlner collect   gather metrics.json files into one long CSV
    mtlner tables    paper-style tables (CSV + Markdown) from the collected results
    mtlner figures   figures (PNG + SVG) from the collected results
    mtlner storage   parameters, disk and inference memory: STL per task vs one MTL model
    mtlner tag       tag raw text with a saved STL or MTL model (JSON lines, CoNLL, BioC XML)
    mtlner cost      device-hours of a run by job kind, and a projection for the paper's grid
    mtlner reference a finished run's tables beside the paper's, with its claims checked (docs/reference)
    mtlner analysis  seen vs unseen test mentions and boundary errors of every job (tables + figures)
    mtlner leaks     text shared between tasks' splits (and targets' test splits): audit, warn (MTL job logs), drop
    mtlner cross-corpus  every job's heads on other same-type tasks' test splits (table + heat maps)

Every problem a user can fix is reported as one message naming the file/line/key; no traceback.
"""

from __future__ import annotations

import argparse
import errno
import logging
import os
import sys
from dataclasses import fields
from pathlib import Path

from mtlner.run import startup  # clock from process start: metrics.json startup_seconds
from mtlner.errors import UserError

log = logging.getLogger("mtlner")


def _prepare(args) -> None:
    from mtlner.data.prepare import prepare_job

    prepare_job(args)


def _windows(args) -> None:
    from mtlner.data.prepare import windows_job
    from mtlner.training.model import load_tokenizer

    windows_job(args, load_tokenizer(args.encoder))


def _entity_type(name: str) -> str:
    from mtlner.data.corpus import normalise_entity_type

    return normalise_entity_type(name)


def _train(args) -> None:
    from mtlner.training import job

    job.run(args, job.Hooks(startup.process_age, startup.launch, _check_starting_model, _damaged_starting_model))


# tag's model-folder checks, imported only by a job that starts from a saved model (STL from MTL)
def _check_starting_model(folder):
    from mtlner.training.model import check_starting_model

    return check_starting_model(folder)


def _damaged_starting_model(folder, err):
    from mtlner.training.model import damaged_starting_model

    return damaged_starting_model(folder, err)


def _collect(args) -> None:
    from mtlner.report.results import collect_metrics

    frame = collect_metrics(args.metrics)
    from mtlner.atomic import atomic_path

    with atomic_path(args.out) as tmp:
        frame.to_csv(tmp, index=False)


def _tables(args) -> None:
    from mtlner.report.tables import write_all_tables

    write_all_tables(
        args.results,
        args.corpus_stats,
        args.out_dir,
        paper_dir=args.paper_dir,
        predictions=args.predictions,
        rounds=args.bootstrap_rounds,
        seed=args.bootstrap_seed,
    )


def _figures(args) -> None:
    from mtlner.report.plots import write_all_figures

    write_all_figures(args.results, args.corpus_stats, args.out_dir)


def _storage(args) -> None:
    from mtlner.report.storage import write_storage_table

    write_storage_table(args.model, args.out_dir, args.stl_model or (), args.max_length, args.batch, args.device)


def _tag(args) -> None:
    from mtlner.tag.pipeline import tag_files

    summary = tag_files(
        args.model,
        args.inputs,
        args.output,
        fmt=args.format,
        max_length=args.max_length,
        device=args.device,
        batch_tokens=args.max_tokens,
        progress=not args.no_progress,
        max_token_chars=args.max_token_chars,
    )
    log.info(
        "tagged %(documents)d documents, %(sentences)d sentences, %(tokens)d tokens in %(seconds).1f s -> %(output)s",
        summary,
    )
    if summary["untaggable_tokens"]:
        log.warning(
            "%(untaggable_tokens)d tokens could not be tokenised sensibly and were tagged O (warnings above; docs/tag.md)",
            summary,
        )


def _cost(args) -> None:
    from mtlner.report.cost import write_cost_tables

    write_cost_tables(
        args.metrics,
        args.window_stats,
        args.corpus_stats or [],
        args.grid_config,
        args.out_dir,
        paper_dir=args.paper_dir,
        epochs=args.epochs,
        scale=args.scale,
    )


def _reference(args) -> None:
    from mtlner.report.reference import write_reference

    notes = Path(args.notes).read_text(encoding="utf-8") if args.notes else ""
    page = write_reference(args.results, args.paper_dir, args.out_dir, args.title, notes)
    log.info("wrote %s", page)


def _pairs(specs: list[str], flag: str, parts: int = 2) -> dict[str, Path | tuple[str, ...]]:
    """NAME=PATH (job.parse_task_spec) or, with parts=3, NAME=A=B arguments as a dict keyed by NAME."""
    from mtlner.training.job import parse_task_spec

    if parts == 2:
        return {spec.name: spec.path for spec in (parse_task_spec(s, flag, entity=False) for s in specs or [])}
    out = {}
    for spec in specs or []:
        fields_ = spec.split("=")
        if len(fields_) != parts or not all(fields_):
            raise UserError(f"{flag} {spec!r} must look like NAME=PATH=PATH")
        out[fields_[0]] = tuple(fields_[1:])
    return out


def _analysis(args) -> None:
    from mtlner.report.analysis import write_analysis

    windows = _pairs(args.windows, "--windows")
    write_analysis(args.results, args.corpus_stats, args.predictions, windows, args.tables_dir, args.figures_dir)


def _cross_corpus(args) -> None:
    from mtlner.report.crosscorpus import write_cross_corpus

    write_cross_corpus(args.metrics, args.tables_dir, args.figures_dir, entities=args.entity)


def _leaks(args) -> None:
    from mtlner.data import leaks

    targets = _pairs(args.target, "--target")
    if args.action == "audit":
        from mtlner.report.leak_audit import write_audit

        write_audit(_pairs(args.corpus, "--corpus"), args.table_dir, args.json_dir, targets)
    elif args.action == "drop":
        leaks.drop(_pairs(args.corpus, "--corpus", parts=3), targets)
    else:
        command = args.run_command[1:] if args.run_command[:1] == ["--"] else args.run_command
        leaks.warn(_pairs(args.corpus, "--corpus"), command, targets)


def build_parser() -> argparse.ArgumentParser:
    from mtlner.training.config import HEADS, TrainConfig

    parser = argparse.ArgumentParser(
        prog="mtlner", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("-v", "--verbose", action="store_true")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("prepare", help="normalise and count one task's corpus")
    p.add_argument("--task", required=True)
    p.add_argument("--entity", required=True, type=_entity_type)
    p.add_argument("--dataset")
    p.add_argument("--input-dir", required=True, help="folder with train.tsv, dev.tsv, test.tsv")
    p.add_argument(
        "--max-documents",
        nargs="*",
        metavar="SPLIT=N",
        help="keep only the first N documents of a split (a reduced design)",
    )
    p.add_argument(
        "--splits",
        nargs="+",
        choices=["train", "dev", "test"],
        help="splits to read (default all; test for an evaluation-only target)",
    )
    p.add_argument(
        "--documents",
        metavar="docstart|blank_lines:N|sentences:N",
        help="where documents start (config tasks.<name>.documents): at -DOCSTART- lines (default), also at "
        "N consecutive blank lines, or every N sentences",
    )
    p.add_argument("--out-dir", required=True)
    p.set_defaults(run=_prepare)

    p = sub.add_parser("windows", help="tokenise and window one task")
    p.add_argument("--corpus-dir", required=True)
    p.add_argument("--encoder", required=True, help="local path, hub name, or packaged:minilm")
    p.add_argument("--max-length", type=int, default=512)
    p.add_argument(
        "--windowing",
        default="pack",
        choices=["pack", "sentence"],
        help="pack: sentences of a document fill a window (paper); sentence: one sentence per window",
    )
    p.add_argument(
        "--splits",
        nargs="+",
        choices=["train", "dev", "test"],
        help="splits to window (default all; test for an evaluation-only target)",
    )
    p.add_argument("--out-dir", required=True)
    p.set_defaults(run=_windows)

    p = sub.add_parser("train", help="train and evaluate STL/MTL")
    p.add_argument("--task", action="append", required=True, help="NAME=ENTITY=WINDOWS_DIR (repeat for MTL)")
    p.add_argument("--init", required=True, help="encoder to start from: hub name, path, or a saved model folder")
    p.add_argument("--tokenizer", help="tokenizer the windows were built with (default: --init)")
    p.add_argument("--kind", default="stl", choices=["stl", "mtl", "stl_from_mtl", "baseline"])
    p.add_argument("--ablation", type=float, default=0.0, help="fraction of training windows removed")
    p.add_argument("--without", default=None, type=_entity_type, help="entity type left out (entity ablation)")
    p.add_argument("--out-dir", required=True)
    p.add_argument("--save-model", action="store_true")
    p.add_argument("--threads", type=int, default=0, help="CPU threads for torch (0: torch default)")
    p.add_argument(
        "--cross-test",
        action="append",
        default=[],
        metavar="NAME=ENTITY=WINDOWS_DIR",
        help="after the test pass, score the job's heads of ENTITY on this other task's test windows (a window folder "
        "or its test.pt); into metrics.json under cross_corpus (repeat per task)",
    )
    for f in fields(TrainConfig):
        if f.name == "seed":
            p.add_argument("--seed", type=int, default=f.default)
        elif f.name == "head":
            p.add_argument(
                "--head",
                choices=HEADS,
                default=f.default,
                help="linear (the paper's) or crf (a linear-chain CRF over each task's words)",
            )
        elif f.type in ("bool", bool):
            p.add_argument(f"--{f.name.replace('_', '-')}", action=argparse.BooleanOptionalAction, default=f.default)
        else:
            kind = {"int": int, "float": float, "str": str}[str(f.type)]
            p.add_argument(f"--{f.name.replace('_', '-')}", type=kind, default=f.default)
    p.set_defaults(run=_train)

    p = sub.add_parser("collect", help="gather metrics.json files into one CSV")
    p.add_argument("--metrics", nargs="+", required=True)
    p.add_argument("--out", required=True)
    p.set_defaults(run=_collect)

    for name, func, what in (("tables", _tables, "paper-style tables"), ("figures", _figures, "figures")):
        p = sub.add_parser(name, help=what)
        p.add_argument("--results", required=True, help="CSV written by 'mtlner collect'")
        p.add_argument("--corpus-stats", nargs="+", required=True, help="stats.json files written by 'mtlner prepare'")
        p.add_argument("--out-dir", required=True)
        if name == "tables":
            p.add_argument("--paper-dir", help="folder with the paper's tables as CSV, for side-by-side comparison")
            p.add_argument(
                "--predictions",
                nargs="*",
                default=[],
                help="every job's predictions/<task>.test.tsv: adds bootstrap p-values and the significance table",
            )
            p.add_argument("--bootstrap-rounds", type=int, default=1000)
            p.add_argument("--bootstrap-seed", type=int, default=1)
        p.set_defaults(run=func)

    p = sub.add_parser("storage", help="parameters, disk size and inference memory: STL per task vs MTL")
    p.add_argument(
        "--model", required=True, help="a saved MTL model folder (results/mtl/all/ablation_0.0/seed_1/model)"
    )
    p.add_argument(
        "--stl-model",
        action="append",
        help="saved STL model folders, if kept (repeat); else STL = MTL encoder + one head",
    )
    p.add_argument("--max-length", type=int, default=512, help="subwords per window of the measured batch")
    p.add_argument("--batch", type=int, default=8, help="windows in the measured batch")
    p.add_argument("--device", default="cpu", help="cpu, cuda or auto")
    p.add_argument("--out-dir", required=True)
    p.set_defaults(run=_storage)

    p = sub.add_parser("tag", help="tag raw text files with a saved STL or MTL model")
    p.add_argument("inputs", nargs="+", help="UTF-8 text files, one document each (e.g. abstracts/*.txt)")
    p.add_argument("--model", required=True, help="a saved model folder (holds encoder/, heads.pt, model.json)")
    p.add_argument("-o", "--output", required=True, help="output file, written atomically")
    p.add_argument("--format", default="jsonl", choices=["jsonl", "conll", "bioc"])
    p.add_argument(
        "--max-length",
        type=int,
        default=None,
        help="subwords per window (default: the model's training window, else the encoder's maximum)",
    )
    p.add_argument("--max-tokens", type=int, default=8192, help="padded subwords per inference batch")
    p.add_argument("--device", default="cpu", help="cpu, cuda or auto")
    p.add_argument(
        "--max-token-chars",
        type=int,
        default=1000,
        help="a longer token (text without whitespace) is tagged O with a warning",
    )
    p.add_argument(
        "--no-progress",
        action="store_true",
        help="no progress bar (there is none anyway when stderr is not a terminal)",
    )
    p.set_defaults(run=_tag)

    p = sub.add_parser("cost", help="device-hours of a finished run, and a projection for a whole grid")
    p.add_argument("--metrics", nargs="+", required=True, help="every training job's metrics.json")
    p.add_argument("--window-stats", nargs="+", required=True, help="results/windows/<key>/<task>/stats.json files")
    p.add_argument("--corpus-stats", nargs="*", help="results/corpora/<task>/stats.json (mentions, for estimates)")
    p.add_argument(
        "--grid-config",
        required=True,
        help="config whose tasks and ablation levels are projected (config.yaml: the paper's)",
    )
    p.add_argument("--paper-dir", help="folder with the paper's table1_mentions.csv (sizes of tasks not run here)")
    p.add_argument("--epochs", type=int, default=0, help="epochs of the projected grid (default: the grid config's)")
    p.add_argument(
        "--scale", type=float, default=1.0, help="multiply projected seconds (e.g. another encoder's cost ratio)"
    )
    p.add_argument("--out-dir", required=True)
    p.set_defaults(run=_cost)

    p = sub.add_parser("reference", help="a finished run's tables and figures beside the paper's, as one page")
    p.add_argument("--results", default="results", help="the run's results/ folder (tables/ and figures/ in it)")
    p.add_argument("--paper-dir", default="resources/paper")
    p.add_argument("--out-dir", default="docs/reference")
    p.add_argument("--title", default="Reference run")
    p.add_argument("--notes", help="a Markdown file put at the top of the page (what ran, what was reduced)")
    p.set_defaults(run=_reference)

    p = sub.add_parser("analysis", help="seen vs unseen test mentions and boundary errors of every job")
    p.add_argument("--results", required=True, help="CSV written by 'mtlner collect'")
    p.add_argument("--corpus-stats", nargs="+", required=True, help="stats.json files written by 'mtlner prepare'")
    p.add_argument(
        "--predictions",
        nargs="+",
        required=True,
        help="every STL, MTL and STL-from-MTL job's predictions/<task>.test.tsv",
    )
    p.add_argument(
        "--windows",
        action="append",
        required=True,
        metavar="TASK=PATH",
        help="a task's training window cache (train.pt); repeat per task",
    )
    p.add_argument("--tables-dir", required=True)
    p.add_argument("--figures-dir", required=True)
    p.set_defaults(run=_analysis)

    p = sub.add_parser("cross-corpus", help="cross-corpus transfer table and heat maps from the jobs' metrics.json")
    p.add_argument(
        "--metrics",
        nargs="+",
        required=True,
        help="training jobs' metrics.json (those run with --cross-test hold cross_corpus scores)",
    )
    p.add_argument(
        "--entity",
        action="append",
        type=_entity_type,
        help="draw this entity type's heat map (repeat; default: every type with scores)",
    )
    p.add_argument("--tables-dir", required=True)
    p.add_argument("--figures-dir", required=True)
    p.set_defaults(run=_cross_corpus)

    p = sub.add_parser("leaks", help="text shared between tasks' splits and targets' test splits: audit, warn, drop")
    actions = p.add_subparsers(dest="action", required=True)
    target_help = "an evaluation-only cross-corpus target's prepared folder (its test.tsv is read); repeat per target"
    a = actions.add_parser("audit", help="table of shared sentences/document IDs and one JSON per task and target")
    a.add_argument(
        "--corpus",
        action="append",
        required=True,
        metavar="TASK=DIR",
        help="a task's prepared corpus folder; repeat per task",
    )
    a.add_argument("--table-dir", required=True, help="leak_audit.csv and .md go here")
    a.add_argument(
        "--json-dir",
        required=True,
        help="<task>.json (overlaps of training text with the task's dev/test; a target's: with its test) go here",
    )
    a.add_argument("--target", action="append", metavar="NAME=DIR", help=target_help)
    a = actions.add_parser(
        "drop", help="copy corpora without the training sentences found in any task's dev/test or target's test split"
    )
    a.add_argument("--corpus", action="append", required=True, metavar="TASK=IN_DIR=OUT_DIR", help="repeat per task")
    a.add_argument("--target", action="append", metavar="NAME=DIR", help=target_help)
    a = actions.add_parser(
        "warn",
        help="log the leaks among one job's tasks and into the targets it scores, then run the job's command (after --)",
    )
    a.add_argument(
        "--corpus",
        action="append",
        required=True,
        metavar="TASK=DIR",
        help="one of the job's tasks' corpus folder; repeat per task",
    )
    a.add_argument(
        "--target",
        action="append",
        metavar="NAME=DIR",
        help=target_help + " (the job's --cross-test targets that are none of its tasks)",
    )
    a.add_argument(
        "run_command", nargs=argparse.REMAINDER, help="-- COMMAND...: run in this process after the warnings"
    )
    p.set_defaults(run=_leaks)
    return parser


ENV_TRAIN_OPTIONS = "MTLNER_TRAIN_OPTIONS"  # `train` flags read before the command's own
_FULL_DISK = {errno.ENOSPC, errno.EDQUOT, errno.EFBIG}  # a message, not a traceback


def main(argv: list[str] | None = None) -> int:
    if os.environ.get("MTLNER_FORKSERVER"):  # a local run's warm process (mtlner.run.forkserver) runs it
        from mtlner.run.forkserver import forward

        status = forward(list(sys.argv[1:] if argv is None else argv), entry="mtlner.cli:main")
        if status is not None:
            return status
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["train"] and os.environ.get(ENV_TRAIN_OPTIONS):
        # settings that cannot change a result (the workflow's LAUNCH_ONLY), kept out of the job's
        # command so that changing them reruns nothing; flags on the command line still win
        import shlex

        argv[1:1] = shlex.split(os.environ[ENV_TRAIN_OPTIONS])
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    from mtlner.errors import Preempted

    try:
        args.run(args)
    except UserError as err:
        print(f"mtlner {args.command}: error: {err}", file=sys.stderr)
        return 2
    except Preempted as err:
        print(f"mtlner {args.command}: {err}", file=sys.stderr)  # it says what a rerun does
        return 143
    except OSError as err:
        if err.errno not in _FULL_DISK:
            raise
        # outputs are written atomically: nothing half-written is left to clean up
        where = f" {err.filename}" if err.filename else ""
        print(
            f"mtlner {args.command}: error: cannot write{where}: {err.strerror}\n  -> free some space (or quota) and rerun",
            file=sys.stderr,
        )
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
