"""Load and check ``registry.yaml`` (which corpus, URLs, format and type mapping per task)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from mtlner.errors import UserError

PACKAGED_REGISTRY = Path(__file__).with_name("registry.yaml")
CLASSES = ("cell_line", "chemical", "gene", "species")
_CORPUS_KEYS = {"files", "manual", "format", "options", "encoding", "keep_source_sentences", "keep_source_tokens"}
_TASK_KEYS = {"corpus", "entity", "split", "types"}


def load_registry(path: str | Path | None = None, url_base: str | None = None) -> dict[str, Any]:
    """Read and validate the registry; ``url_base`` rewrites every URL's scheme+host.

    ``url_base`` (e.g. ``http://127.0.0.1:8000``) exists for tests and offline mirrors:
    ``https://host/a/b.tar.gz`` becomes ``<url_base>/host/a/b.tar.gz``.
    """
    path = Path(path) if path else PACKAGED_REGISTRY
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as error:
        raise UserError(f"cannot read HUNER registry {path}: {error}") from error
    _validate(data, path)
    if url_base:
        _rewrite_urls(data, url_base.rstrip("/"))
    return data


def _validate(data: Any, path: Path) -> None:
    if not isinstance(data, dict) or "corpora" not in data or "tasks" not in data:
        raise UserError(f"{path}: needs top-level keys 'corpora' and 'tasks'")
    if data.get("mention_boundaries", "cut") not in ("cut", "huner"):
        raise UserError(f"{path}: mention_boundaries must be 'cut' or 'huner', not {data['mention_boundaries']!r}")
    for key, corpus in data["corpora"].items():
        missing = _CORPUS_KEYS - set(corpus)
        if missing:
            raise UserError(f"{path}: corpus {key!r} lacks {sorted(missing)}")
        for entry in corpus["files"]:
            if not entry.get("name") or "urls" not in entry:
                raise UserError(f"{path}: corpus {key!r} has a file without 'name'/'urls'")
        if corpus.get("duplicate_ids", "error") not in ("error", "merge"):
            raise UserError(
                f"{path}: corpus {key!r}: duplicate_ids must be 'error' or 'merge', not {corpus['duplicate_ids']!r}"
            )
    for task, spec in data["tasks"].items():
        missing = _TASK_KEYS - set(spec)
        if missing:
            raise UserError(f"{path}: task {task!r} lacks {sorted(missing)}")
        if spec["corpus"] not in data["corpora"]:
            raise UserError(f"{path}: task {task!r} names unknown corpus {spec['corpus']!r}")
        bad = {cls for cls in spec["types"].values()} - set(CLASSES)
        if spec["entity"] not in CLASSES or bad:
            raise UserError(
                f"{path}: task {task!r} uses unknown class(es) {sorted(bad) or spec['entity']}",
                hint=f"classes are {', '.join(CLASSES)}",
            )


def _rewrite_urls(data: dict, base: str) -> None:
    def rewrite(url: str) -> str:
        return base + "/" + url.split("://", 1)[-1]

    data["split_url_base"] = rewrite(data["split_url_base"])
    for corpus in data["corpora"].values():
        for entry in corpus["files"]:
            entry["urls"] = [rewrite(url) for url in entry["urls"]]


def task_spec(registry: dict, task: str) -> dict:
    try:
        return registry["tasks"][task]
    except KeyError:
        raise UserError(
            f"unknown HUNER task {task!r}", hint=f"known tasks: {', '.join(sorted(registry['tasks']))}"
        ) from None


def corpus_spec(registry: dict, corpus: str) -> dict:
    try:
        return registry["corpora"][corpus]
    except KeyError:
        raise UserError(
            f"unknown HUNER corpus {corpus!r}", hint=f"known corpora: {', '.join(sorted(registry['corpora']))}"
        ) from None
