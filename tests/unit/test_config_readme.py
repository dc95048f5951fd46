"""config/README.md documents every key of workflow/schemas/config.schema.yaml, and only those.

The page's "Every key" tables (header ``| key | default | what it does |``) are read row by row:
the first cell names the key as a dotted path in backticks (``tasks.<name>.entity``; ``<name>``
for a name the user chooses), the second its default. Every key the schema can take, nested ones
included, must have a row; a row must name a key the schema has; and where the schema (or, for
``training``, TrainConfig) has a default, the row's default must be that value, written as YAML
in backticks.
"""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "config" / "README.md"
SCHEMA = ROOT / "workflow" / "schemas" / "config.schema.yaml"


def schema_keys(schema: dict) -> dict[str, dict]:
    """Every dotted key path of the schema with its sub-schema. `additionalProperties` with a
    schema is a name the user picks (`<name>`). A `$ref` is not followed: the shared `training`
    definition is listed once, under `training.`, and `baseline.training` takes the same keys."""
    keys: dict[str, dict] = {}

    def walk(node: dict, prefix: str) -> None:
        for name, sub in node.get("properties", {}).items():
            keys[prefix + name] = sub
            if "$ref" not in sub:
                walk(sub, f"{prefix}{name}.")
        named = node.get("additionalProperties")
        if isinstance(named, dict):
            keys[prefix + "<name>"] = named
            walk(named, f"{prefix}<name>.")

    walk(schema, "")
    walk(schema["$defs"]["training"], "training.")
    return keys


def documented_keys(text: str) -> dict[str, str]:
    """key -> default cell of every row of the page's `| key | default | ... |` tables."""
    rows, inside = {}, False
    for number, line in enumerate(text.splitlines(), 1):
        if re.match(r"^\|\s*key\s*\|\s*default\s*\|", line):
            inside = True
        elif inside and not line.startswith("|"):
            inside = False
        elif inside and not re.match(r"^\|[-| ]+\|$", line):
            cells = [c.strip() for c in re.split(r"(?<!\\)\|", line.strip())[1:-1]]
            match = re.fullmatch(r"`([\w.<>]+)`", cells[0])
            assert match, f"config/README.md:{number}: write the key as one `dotted.path`, not {cells[0]!r}"
            assert match.group(1) not in rows, f"config/README.md:{number}: {match.group(1)} is documented twice"
            assert len(cells) == 3 and cells[1] and cells[2], f"config/README.md:{number}: key, default, meaning"
            rows[match.group(1)] = cells[1]
    return rows


def schema_defaults(keys: dict[str, dict]) -> dict[str, object]:
    """The default each key gets: the schema's, else TrainConfig's for `training.*`."""
    from mtlner.training.config import TrainConfig

    defaults = {key: sub["default"] for key, sub in keys.items() if "default" in sub}
    for f in dataclasses.fields(TrainConfig):
        if f"training.{f.name}" in keys and f.default is not dataclasses.MISSING:
            defaults.setdefault(f"training.{f.name}", f.default)
    return defaults


def test_schema_keys_are_walked_with_nesting_names_and_the_shared_training_section():
    schema = {
        "properties": {
            "a": {"type": "integer", "default": 1},
            "b": {"properties": {"c": {}}},
            "t": {"additionalProperties": {"properties": {"entity": {}}}},
            "base": {"properties": {"training": {"$ref": "#/$defs/training"}}},
        },
        "$defs": {"training": {"properties": {"lr": {}}}},
    }
    assert sorted(schema_keys(schema)) == sorted(
        ["a", "b", "b.c", "t", "t.<name>", "t.<name>.entity", "base", "base.training", "training.lr"]
    )
    text = "| key | default | what it does |\n|---|---|---|\n| `a` | `1` | one |\n| `b.c` | none | two |\n\nafter\n"
    assert documented_keys(text) == {"a": "`1`", "b.c": "none"}


def test_every_schema_key_is_documented_and_every_documented_key_is_in_the_schema():
    keys = schema_keys(yaml.safe_load(SCHEMA.read_text()))
    documented = documented_keys(README.read_text(encoding="utf-8"))
    # the walk reaches the nested sections; a walk that found only the top level would pass less
    assert {"tasks.<name>.documents.by", "resources.gpu_share", "training.lr", "baseline.training"} <= set(keys)
    missing = sorted(set(keys) - set(documented))
    unknown = sorted(set(documented) - set(keys))
    assert not missing, f"config/README.md does not document these schema keys: {missing}"
    assert not unknown, f"config/README.md documents keys the schema does not have: {unknown}"


def test_documented_defaults_are_the_schemas():
    keys = schema_keys(yaml.safe_load(SCHEMA.read_text()))
    documented = documented_keys(README.read_text(encoding="utf-8"))
    defaults = schema_defaults(keys)
    assert len(defaults) >= 40  # the schema's and TrainConfig's defaults are found
    failures = []
    for key, value in sorted(defaults.items()):
        cell = documented.get(key, "")
        match = re.match(r"`([^`]*)`", cell)
        if not match:
            failures.append(f"{key}: the default is {value!r}; write it first in the cell as `yaml`, not {cell!r}")
        elif yaml.safe_load(match.group(1)) != value:
            failures.append(f"{key}: the page says {match.group(1)}, the default is {value!r}")
    assert not failures, "config/README.md's defaults disagree:\n" + "\n".join(failures)
