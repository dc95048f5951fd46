"""workflow/schemas/config.schema.yaml: the one place config keys and their defaults live."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
import yaml
from snakemake.utils import validate

from mtlner.training.loop import TrainConfig

ROOT = Path(__file__).resolve().parents[2]
SCHEMA_PATH = ROOT / "workflow" / "schemas" / "config.schema.yaml"
SCHEMA = yaml.safe_load(SCHEMA_PATH.read_text())
# TrainConfig fields that are no key of the config's training section, and why
NOT_CONFIG_KEYS = {
    "seed": "set per job from the config's seeds list",
    "head": "set per job from the config's heads list (a grid dimension, like the model kind)",
}


def test_training_keys_are_the_fields_of_trainconfig():
    schema_keys = set(SCHEMA["$defs"]["training"]["properties"])
    fields = {f.name for f in dataclasses.fields(TrainConfig)} - set(NOT_CONFIG_KEYS)
    missing_in_schema = sorted(fields - schema_keys)
    missing_in_train = sorted(schema_keys - fields)
    assert not missing_in_schema, (
        f"TrainConfig fields {missing_in_schema} have no key in {SCHEMA_PATH.name} $defs.training.properties: "
        "add them there (with a description), or to NOT_CONFIG_KEYS here if no config should set them"
    )
    assert not missing_in_train, (
        f"{SCHEMA_PATH.name} $defs.training.properties has keys {missing_in_train} that are no field of "
        "mtlner.training.loop.TrainConfig: the CLI would reject them (add the field or remove the key)"
    )


def test_not_config_keys_are_still_fields():
    fields = {f.name for f in dataclasses.fields(TrainConfig)}
    assert set(NOT_CONFIG_KEYS) <= fields, sorted(set(NOT_CONFIG_KEYS) - fields)


def minimal_config(**extra) -> dict:
    return {"encoder": "packaged:minilm", "tasks": {"t": {"entity": "gene"}}, **extra}


def test_validate_applies_the_documented_defaults():
    config = minimal_config()
    validate(config, str(SCHEMA_PATH), set_default=True)
    resources = SCHEMA["properties"]["resources"]["properties"]
    assert config["resources"] == {key: spec["default"] for key, spec in resources.items()}
    assert config["huner_download"] == {"timeout": 60, "retries": 3, "backoff": 2}


def test_given_values_win_over_defaults():
    config = minimal_config(resources={"gpus_per_job": 0, "runtime": 30}, huner_download={"retries": 1})
    validate(config, str(SCHEMA_PATH), set_default=True)
    assert config["resources"]["gpus_per_job"] == 0 and config["resources"]["runtime"] == 30
    assert config["resources"]["runtime_min"] == 10
    assert config["huner_download"] == {"timeout": 60, "retries": 1, "backoff": 2}


@pytest.mark.parametrize("section", ["resources", "huner_download"])
def test_unknown_keys_are_errors(section):
    with pytest.raises(Exception, match="typo_key"):
        validate(minimal_config(**{section: {"typo_key": 1}}), str(SCHEMA_PATH), set_default=True)


@pytest.mark.parametrize(
    "path", sorted(str(p.relative_to(ROOT)) for p in [ROOT / "config.yaml", *(ROOT / "config").glob("*.yaml")])
)
def test_shipped_configs_are_valid(path):
    validate(yaml.safe_load((ROOT / path).read_text()), str(SCHEMA_PATH), set_default=True)
