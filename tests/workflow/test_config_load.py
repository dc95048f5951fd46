"""Config files and --config values read the strict way (mtlner.run.configload): a key written
twice or a syntax error names the file and line; lists and nested --config values work."""

import pytest
import yaml

from tests.helpers import ROOT
from mtlner.run.configload import main, read_config_file, typed_overrides
from mtlner.errors import UserError
from tests.helpers.workflow import job_counts, snakemake, tiny_config

SCHEMA = yaml.safe_load((ROOT / "workflow" / "schemas" / "config.schema.yaml").read_text())


def test_nested_and_list_values_get_the_schema_types():
    # what Snakemake's --config parser hands over (yaml BaseLoader: every leaf a string)
    given = {
        "seeds": ["1", "2"],
        "ablation_levels": ["0.0", "0.5"],
        "training": {"epochs": "2", "lr": "1e-4", "progress": "false", "device": "cpu"},
        "paper_dir": None,
        "encoder": "packaged:minilm",
        "entity_ablation": ["gene"],
        "tasks": {"x": {"entity": "gene", "max_documents": {"train": "10"}}},
        "baseline": {"training": {"batch_size": "4"}},
    }
    assert typed_overrides(given, SCHEMA) == {
        "seeds": [1, 2],
        "ablation_levels": [0.0, 0.5],
        "training": {"epochs": 2, "lr": 1e-4, "progress": False, "device": "cpu"},
        "paper_dir": "",
        "encoder": "packaged:minilm",
        "entity_ablation": ["gene"],
        "tasks": {"x": {"entity": "gene", "max_documents": {"train": 10}}},
        "baseline": {"training": {"batch_size": 4}},
    }
    assert typed_overrides({"seeds": "[3, 4]"}, SCHEMA) == {"seeds": [3, 4]}


def test_a_value_that_is_not_yaml_says_how_to_write_it():
    with pytest.raises(UserError, match=r"(?s)--config seeds\[0\]=\[: .*flow style"):
        typed_overrides({"seeds": ["["]}, SCHEMA)


def test_a_key_written_twice_names_the_key_file_and_lines(tmp_path):
    path = tmp_path / "my.yaml"
    path.write_text("threads: 2\ntraining:\n  epochs: 2\n  lr: 1.0e-4\n  epochs: 3\n")
    with pytest.raises(UserError, match=rf"{path}, line 5: key 'epochs' is written twice \(first on line 3\)"):
        read_config_file(path)
    # the same key in two different mappings is fine; YAML merge keys may repeat on purpose
    path.write_text("a: {epochs: 1}\nb: {epochs: 2}\nbase: &b {x: 1}\nc:\n  <<: *b\n  y: 2\n")
    assert read_config_file(path)["c"] == {"x": 1, "y": 2}


def test_a_syntax_error_names_the_file_and_line(tmp_path, capsys):
    path = tmp_path / "my.yaml"
    path.write_text("threads: 2\nseeds: [1, 2\ntraining: {}\n")
    with pytest.raises(UserError, match=rf"config file {path}, line \d+, column \d+: not valid YAML"):
        read_config_file(path)
    # by hand, for a --configfile (Snakemake reads those before the workflow starts)
    assert main([str(path)]) == 2
    assert str(path) in capsys.readouterr().err
    path.write_text("threads: 2\n")
    assert main([str(path)]) == 0


def test_config_overrides_of_lists_and_nested_keys_in_a_dry_run(tmp_path):
    config = tiny_config(tmp_path, ablation_levels=[0.0])
    overrides = ["seeds=[1,2]", "training={epochs: 2}", 'paper_dir=""', "ablation_levels=[0.0,0.5]"]
    proc = snakemake(tmp_path, "-n", "-p", "--config", *overrides, config=config, quiet=False)
    counts = job_counts(proc.stdout)
    assert counts["train_stl"] == 2 * 2 * 2  # tasks x levels x seeds
    # training={epochs: 2} changes epochs and keeps the file's other training keys
    assert "--epochs 2 --lr 0.0002 --max-tokens 512" in proc.stdout
    assert "--paper-dir" not in proc.stdout  # paper_dir="": no comparison with the paper


def test_config_errors_at_load_name_the_file_or_say_how_to_write(tmp_path):
    config = tiny_config(tmp_path)
    proc = snakemake(tmp_path, "-n", "--config", "training={epochs: [}", config=config, check=False)
    assert proc.returncode != 0 and "flow style" in proc.stdout + proc.stderr
    twice = tmp_path / "twice.yaml"
    twice.write_text(config.read_text() + "max_length: 32\n")
    proc = snakemake(tmp_path, "-n", config=twice, check=False)
    assert proc.returncode != 0
    assert (
        f"{twice}, line" in proc.stdout + proc.stderr and "'max_length' is written twice" in proc.stdout + proc.stderr
    )
