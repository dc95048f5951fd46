"""Command line for the HUNER rules: ``python -m mtlner.data.huner <subcommand> ...``.

Subcommands:
  download  --corpus C --out-dir DIR          fetch + check + unpack one corpus
  splits    --name N --out-dir DIR            fetch HUNER's N.{train,dev,test}
  convert   --task T --data-dir D --split-dir S --out-dir O [--mention-boundaries cut|huner]
  tasks                                       list task -> corpus, split
Common: --registry FILE (default: the packaged registry.yaml) and --url-base URL (rewrite
every URL to URL/<host>/<path>, used by tests and offline mirrors).
"""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from mtlner.errors import UserError
from mtlner.data.huner import build, download
from mtlner.data.huner.registry import corpus_spec, load_registry


def main(argv: list[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    try:
        registry = load_registry(args.registry, args.url_base)
        args.run(args, registry)
    except UserError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    return 0


def _settings(args) -> download.DownloadSettings:
    return download.DownloadSettings(timeout=args.timeout, retries=args.retries, backoff=args.backoff)


def _download(args, registry) -> None:
    tasks = [task for task, spec in registry["tasks"].items() if spec["corpus"] == args.corpus]
    download.download_corpus(
        args.corpus,
        corpus_spec(registry, args.corpus),
        Path(args.out_dir),
        manual_dir=Path(args.manual_dir),
        settings=_settings(args),
        tasks=tasks,
    )


def _splits(args, registry) -> None:
    download.download_splits(args.name, registry["split_url_base"], Path(args.out_dir), _settings(args))


def _convert(args, registry) -> None:
    report = build.build_task(
        args.task,
        registry,
        Path(args.data_dir),
        Path(args.split_dir),
        Path(args.out_dir),
        mention_boundaries=args.mention_boundaries,
    )
    logging.getLogger("mtlner.data.huner").info(
        "%s: documents %s, in no split %d, mentions %s",
        args.task,
        report["documents"],
        report["documents_in_no_split"],
        {k: v["total"] for k, v in report["mentions"].items()},
    )


def _tasks(args, registry) -> None:
    for task, spec in sorted(registry["tasks"].items()):
        print(f"{task}\t{spec['corpus']}\t{spec['split']}")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m mtlner.data.huner", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--registry", help="registry YAML (default: packaged registry.yaml)")
    parser.add_argument("--url-base", help="rewrite all URLs to <url-base>/<host>/<path>")
    sub = parser.add_subparsers(dest="command", required=True)

    def network(command):
        command.add_argument("--timeout", type=float, default=60.0)
        command.add_argument("--retries", type=int, default=3)
        command.add_argument("--backoff", type=float, default=2.0)

    command = sub.add_parser("download", help="download and unpack one corpus")
    command.add_argument("--corpus", required=True)
    command.add_argument("--out-dir", required=True)
    command.add_argument("--manual-dir", default="resources/huner/manual")
    network(command)
    command.set_defaults(run=_download)

    command = sub.add_parser("splits", help="download one HUNER split-file triple")
    command.add_argument("--name", required=True)
    command.add_argument("--out-dir", required=True)
    network(command)
    command.set_defaults(run=_splits)

    command = sub.add_parser("convert", help="convert one task to train/dev/test.tsv")
    command.add_argument("--task", required=True)
    command.add_argument("--data-dir", required=True)
    command.add_argument("--split-dir", required=True)
    command.add_argument("--out-dir", required=True)
    command.add_argument(
        "--mention-boundaries",
        choices=build.MENTION_BOUNDARIES,
        help="cut words at mention boundaries, or keep HUNER's tokens (default: the registry's mention_boundaries)",
    )
    command.set_defaults(run=_convert)

    command = sub.add_parser("tasks", help="list tasks with corpus and split name")
    command.set_defaults(run=_tasks)
    return parser


if __name__ == "__main__":
    sys.exit(main())
