"""Where a path in the config points: one rule for every path key, applied once at load.

- A value written in a config file (``--configfile``, or the default ``config.yaml``) is
  relative to the folder of that file: the last file that sets the key, since Snakemake merges
  the files in order and the last one wins.
- A value given with ``--config key=value`` is relative to the working directory (the
  ``--directory`` folder, else where snakemake runs).
- A schema default (``corpora_dir: resources/corpora``, ``paper_dir: resources/paper``) is
  relative to the workflow's checkout.

Absolute paths and ``~`` stay as written. A relative value that lands inside the working
directory is given back relative to it, so that the job commands of a run from the checkout
(``snakemake --configfile config/demo.yaml``) read as they always did and no job reruns.
A path that does not exist is a :class:`UserError` naming the key, where it was set and the
path it resolved to.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from pathlib import Path

import yaml

from mtlner.errors import UserError

# key path -> what it names: a folder, a file, a URL or a local folder (huner_url_base), or an
# encoder (a hub name unless it looks like a path or names a folder)
PATH_KEYS = {
    ("corpora_dir",): "folder",
    ("paper_dir",): "folder",
    ("huner_registry",): "file",
    ("huner_url_base",): "url",
    ("resources", "throughput_from"): "folder",
    ("encoder",): "encoder",
}

RULE = (
    "a path in a config file is relative to that file's folder, a --config value to the working"
    " directory, a default to the workflow's checkout (README, Configuration)"
)


def _lookup(data, key: tuple[str, ...]):
    """(found, value) of a nested key in a mapping."""
    for part in key:
        if not isinstance(data, Mapping) or part not in data:
            return False, None
        data = data[part]
    return True, data


def _store(data, key: tuple[str, ...], value) -> None:
    for part in key[:-1]:
        data = data[part]
    data[key[-1]] = value


def _read(path) -> Mapping:
    try:
        with open(path, encoding="utf-8") as handle:
            data = yaml.safe_load(handle)
    except (OSError, yaml.YAMLError):
        return {}  # Snakemake read it already; its own errors name the file
    return data if isinstance(data, Mapping) else {}


def origin(key: tuple[str, ...], configfiles: Iterable, overrides: Mapping, default_base, cwd) -> tuple[str, str]:
    """(folder a relative value is read from, where the value was set: for messages)."""
    if _lookup(overrides, key)[0]:
        return str(cwd), f"set by --config, relative to the working directory {cwd}"
    for path in reversed(list(configfiles)):
        if _lookup(_read(path), key)[0]:
            path = os.path.abspath(path)
            return os.path.dirname(path), f"set in {path}, relative to its folder"
    return str(default_base), f"the default, relative to the workflow's checkout {default_base}"


def _inside(path: str, folder: str) -> bool:
    return os.path.commonpath([path, folder]) == folder


def resolve(value: str, base, cwd) -> str:
    """``value`` read from ``base``: absolute (or ``~``) as written; relative, the path from
    ``cwd`` when it is inside ``cwd``, else the absolute path."""
    expanded = os.path.expanduser(value)
    if os.path.isabs(expanded):
        return expanded
    path = os.path.normpath(os.path.join(os.path.abspath(base), expanded))
    cwd = os.path.abspath(cwd)
    for folder, target in ((cwd, path), (os.path.realpath(cwd), os.path.realpath(path))):
        if _inside(target, folder):
            return os.path.relpath(target, folder)
    return path


def _looks_like_path(value: str) -> bool:
    return value.startswith(("/", "./", "../", "~")) or value in (".", "..")


def resolve_config_paths(
    config: dict, configfiles: Iterable, overrides: Mapping, default_base, cwd, unused: Iterable[str] = ()
) -> dict[str, str]:
    """Rewrite every path key of ``config`` (in place) by the rule above; the keys changed ->
    new value. ``configfiles``: the files Snakemake merged, in order; ``overrides``: the
    ``--config`` values; ``unused``: keys (dotted) whose path this config never reads, so a
    missing one is no error (corpora_dir without local tasks)."""
    configfiles, unused, cwd = list(configfiles), set(unused), os.path.abspath(cwd)
    changed = {}
    for key, kind in PATH_KEYS.items():
        found, value = _lookup(config, key)
        if not found or not isinstance(value, str) or not value:
            continue  # unset, null or "" (paper_dir: "" skips the comparison)
        name = ".".join(key)
        if kind == "url" and "://" in value:
            continue  # a URL; a plain value is a local mirror folder
        base, where = origin(key, configfiles, overrides, default_base, cwd)
        if kind == "encoder":
            # a hub name (org/name) unless it looks like a path or a folder of that name exists
            if value.startswith("packaged:"):
                continue
            if not _looks_like_path(value) and not os.path.isdir(os.path.join(base, value)):
                continue
        path = resolve(value, base, cwd)
        absolute = os.path.join(cwd, path)
        exists = os.path.isfile(absolute) if kind == "file" else os.path.isdir(absolute)
        if not exists and name not in unused:
            what = "file" if kind == "file" else "folder"
            problem = f"that {what} does not exist" if not os.path.exists(absolute) else f"that is not a {what}"
            raise UserError(
                f"config key {name}: {value!r} ({where}) is {os.path.normpath(absolute)}, and {problem}",
                hint=f"fix the path; {RULE}",
            )
        if kind == "url":
            path = Path(absolute).resolve().as_uri()  # file:// URLs are what the download code reads
        if path != value:
            _store(config, key, path)
            changed[name] = path
    return changed
