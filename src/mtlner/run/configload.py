"""Reading the workflow's config the strict way, for messages Snakemake does not give.

Snakemake's YAML loader keeps the last of a key written twice, silently, and reports a syntax
error without the file or line; ``--config key=value`` hands lists and nested values over as
strings (``seeds=[1,2]`` is ``['1', '2']``), which the schema then rejects. The Snakefile calls
:func:`check_config_file` on every config file and :func:`typed_overrides` on the ``--config``
values before validating.

``python -m mtlner.run.configload FILE...`` checks files by hand: Snakemake reads a ``--configfile``
before the workflow starts, so a syntax error there gets Snakemake's own message only.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import yaml

from mtlner.errors import UserError

OVERRIDE_HINT = (
    "write lists and nested values in YAML flow style and quote them for the shell, e.g. "
    "--config 'seeds=[1, 2]' 'training={epochs: 2, lr: 1.0e-4}' 'paper_dir=\"\"'"
)


class _StrictLoader(yaml.SafeLoader):
    """SafeLoader that refuses a mapping key written twice."""


def _mapping(loader: _StrictLoader, node: yaml.MappingNode, deep: bool = False):
    loader.flatten_mapping(node)  # merge keys (<<) first: they may repeat on purpose
    seen: dict[Any, int] = {}
    for key_node, _ in node.value:
        key = loader.construct_object(key_node, deep=True)
        line = key_node.start_mark.line + 1
        try:
            first = seen.setdefault(key, line)
        except TypeError:  # an unhashable key: the constructor below reports it
            continue
        if first != line:
            raise UserError(
                f"{loader.name}, line {line}: key {key!r} is written twice (first on line {first}); "
                "YAML would keep only the last one",
                hint="delete one of them, or merge the two",
            )
    return loader.construct_mapping(node, deep=deep)


_StrictLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _mapping)


def read_config_file(path: str | Path) -> Any:
    """A config file's content; UserError naming the file and line for a syntax error or a
    duplicate key."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as err:
        raise UserError(f"config file {path} cannot be read: {err}") from err
    loader = _StrictLoader(text)
    loader.name = str(path)
    try:
        return loader.get_single_data()
    except yaml.MarkedYAMLError as err:
        mark = err.problem_mark or err.context_mark
        where = f", line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = " ".join(str(p) for p in (err.context, err.problem) if p)
        raise UserError(
            f"config file {path}{where}: not valid YAML ({problem})",
            hint="check the indentation (spaces, no tabs), the colons and the brackets there",
        ) from err
    except yaml.YAMLError as err:
        raise UserError(f"config file {path}: not valid YAML ({err})") from err
    finally:
        loader.dispose()


def check_config_file(path: str | Path) -> None:
    """Raise UserError for what Snakemake's loader lets through (a key written twice) or reports
    without a place (a syntax error). YTE templates (``__use_yte__: true``) are left to YTE."""
    try:
        if "__use_yte__" in Path(path).read_text(encoding="utf-8"):
            return
    except (OSError, UnicodeDecodeError):
        pass  # read_config_file says what is wrong
    read_config_file(path)


# --------------------------------------------------------------------------- --config values


def _resolve(node: dict, root: dict) -> dict:
    while isinstance(node, dict) and isinstance(node.get("$ref"), str) and node["$ref"].startswith("#/"):
        target: Any = root
        for part in node["$ref"][2:].split("/"):
            target = target.get(part, {}) if isinstance(target, dict) else {}
        node = {**target, **{k: v for k, v in node.items() if k != "$ref"}}
    return node if isinstance(node, dict) else {}


def _types(node: dict, root: dict) -> set[str]:
    """JSON types a schema node accepts (empty: it does not say)."""
    node = _resolve(node, root)
    kinds = node.get("type", [])
    found = {kinds} if isinstance(kinds, str) else set(kinds)
    for value in node.get("enum", []):
        found.add("string" if isinstance(value, str) else "other")
    for branch in node.get("oneOf", []) + node.get("anyOf", []):
        found |= _types(branch, root)
    return found


def _child(node: dict, root: dict, key: str | None) -> dict:
    """The schema of an object's property (key) or an array's items (key None)."""
    node = _resolve(node, root)
    branches = [node] + [_resolve(b, root) for b in node.get("oneOf", []) + node.get("anyOf", [])]
    for branch in branches:
        if key is None and isinstance(branch.get("items"), dict):
            return branch["items"]
        if key is not None:
            if key in branch.get("properties", {}):
                return branch["properties"][key]
            if isinstance(branch.get("additionalProperties"), dict):
                return branch["additionalProperties"]
    return {}


def _typed(value: Any, node: dict, root: dict, where: str) -> Any:
    kinds = _types(node, root)
    if isinstance(value, dict):
        return {k: _typed(v, _child(node, root, k), root, f"{where}.{k}") for k, v in value.items()}
    if isinstance(value, list):
        return [_typed(v, _child(node, root, None), root, f"{where}[{i}]") for i, v in enumerate(value)]
    if value is None:  # key= (an empty value): the empty string where a string is expected
        return "" if "string" in kinds else None
    if not isinstance(value, str) or not kinds or "string" in kinds:
        return value
    try:
        parsed = yaml.safe_load(value)
    except yaml.YAMLError as err:
        raise UserError(
            f"--config {where}={value}: not a value of the expected type ({first_problem(err)})", hint=OVERRIDE_HINT
        ) from err
    if isinstance(parsed, str) and kinds & {"number", "integer"}:
        try:  # 1e-4: YAML 1.1 wants 1.0e-4, Python does not
            parsed = float(parsed)
        except ValueError:
            pass
    if isinstance(parsed, (dict, list)):
        return _typed(parsed, node, root, where)
    return parsed


def first_problem(err: yaml.YAMLError) -> str:
    return str(getattr(err, "problem", None) or err).splitlines()[0]


def typed_overrides(overrides: dict, schema: dict, where: str = "") -> dict:
    """``--config`` values (Snakemake parses nested ones as strings) with the types the schema
    asks for: ``'[1,2]'`` -> ``[1, 2]``, ``{'epochs': '2'}`` -> ``{'epochs': 2}``, ``None``
    (``paper_dir=""``) -> ``""`` where a string is expected. Values a string may hold stay."""
    return {
        key: _typed(value, _child(schema, schema, key), schema, f"{where}{key}") for key, value in overrides.items()
    }


def apply_overrides(config: dict, overrides: dict) -> None:
    """Write typed ``--config`` values into ``config`` (where Snakemake already merged them,
    nested dicts key by key into the config file's): leaves only, so the file's other nested
    keys stay."""
    for key, value in overrides.items():
        if isinstance(value, dict) and isinstance(config.get(key), dict):
            apply_overrides(config[key], value)
        else:
            config[key] = value


def main(argv: list[str] | None = None) -> int:
    status = 0
    for path in sys.argv[1:] if argv is None else argv:
        try:
            check_config_file(path)
            print(f"{path}: ok")
        except UserError as err:
            print(f"error: {err}", file=sys.stderr)
            status = 2
    return status


if __name__ == "__main__":
    sys.exit(main())
