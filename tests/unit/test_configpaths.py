"""One rule for relative paths in a config (mtlner.run.configpaths): the config file that sets a
key, --config values the working directory, defaults the workflow's checkout."""

import os
from pathlib import Path

import pytest
import yaml

from mtlner.run.configpaths import resolve, resolve_config_paths
from mtlner.errors import UserError


def _config_file(path: Path, data: dict) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(data))
    return path


@pytest.fixture
def layout(tmp_path):
    """A checkout, a run folder and a config folder outside both, each with a corpora folder."""
    for folder in ("repo/resources/corpora", "repo/resources/paper", "run/corpora", "my configs/corpora", "x/paper"):
        (tmp_path / folder).mkdir(parents=True)
    return tmp_path


def test_a_config_file_value_is_relative_to_that_file(layout):
    first = _config_file(layout / "x/a.yaml", {"corpora_dir": "nowhere", "paper_dir": "paper"})
    last = _config_file(layout / "my configs/b.yaml", {"corpora_dir": "corpora"})
    config = {"corpora_dir": "corpora", "paper_dir": "paper", "encoder": "org/name"}
    changed = resolve_config_paths(config, [first, last], {}, layout / "repo", layout / "run")
    # the last file that sets corpora_dir wins (as Snakemake merges), each key from its own file
    assert config["corpora_dir"] == str(layout / "my configs/corpora")
    assert config["paper_dir"] == str(layout / "x/paper")
    assert config["encoder"] == "org/name" and "encoder" not in changed  # a hub name


def test_command_line_values_are_relative_to_the_working_directory(layout):
    cfg = _config_file(layout / "x/a.yaml", {"corpora_dir": "elsewhere"})
    config = {"corpora_dir": "corpora"}
    resolve_config_paths(config, [cfg], {"corpora_dir": "corpora"}, layout / "repo", layout / "run")
    assert config["corpora_dir"] == "corpora"  # inside the run folder: given back relative to it


def test_defaults_are_relative_to_the_checkout(layout):
    config = {"corpora_dir": "resources/corpora", "paper_dir": "resources/paper"}
    resolve_config_paths(config, [], {}, layout / "repo", layout / "run")
    assert config == {
        "corpora_dir": str(layout / "repo/resources/corpora"),
        "paper_dir": str(layout / "repo/resources/paper"),
    }
    # run from the checkout: the same relative paths as before the rule (job commands unchanged)
    config = {"corpora_dir": "resources/corpora", "paper_dir": "resources/paper"}
    assert resolve_config_paths(config, [], {}, layout / "repo", layout / "repo") == {}


def test_a_config_in_a_subfolder_of_the_run_gives_paths_relative_to_the_run(layout):
    cfg = _config_file(layout / "repo/config/demo.yaml", {"corpora_dir": "../resources/corpora"})
    config = {"corpora_dir": "../resources/corpora", "paper_dir": "", "resources": {"throughput_from": None}}
    changed = resolve_config_paths(config, [cfg], {}, layout / "repo", layout / "repo")
    assert config["corpora_dir"] == "resources/corpora" and changed == {"corpora_dir": "resources/corpora"}
    assert config["paper_dir"] == "" and config["resources"]["throughput_from"] is None  # "" and null: unset


def test_nested_keys_and_files(layout):
    (layout / "x/run1").mkdir()
    (layout / "x/registry.yaml").write_text("tasks: {}\n")
    cfg = _config_file(
        layout / "x/a.yaml", {"resources": {"throughput_from": "run1"}, "huner_registry": "registry.yaml"}
    )
    config = {"resources": {"throughput_from": "run1", "gpus_per_job": 0}, "huner_registry": "registry.yaml"}
    resolve_config_paths(config, [cfg], {}, layout / "repo", layout / "run")
    assert config["resources"] == {"throughput_from": str(layout / "x/run1"), "gpus_per_job": 0}
    assert config["huner_registry"] == str(layout / "x/registry.yaml")


def test_a_missing_path_names_the_key_the_file_and_the_resolved_path(layout):
    cfg = _config_file(layout / "my configs/a.yaml", {"paper_dir": "../paper"})
    with pytest.raises(UserError) as err:
        resolve_config_paths({"paper_dir": "../paper"}, [cfg], {}, layout / "repo", layout / "run")
    message = str(err.value)
    assert "config key paper_dir" in message and str(cfg) in message
    assert str(layout / "paper") in message and "does not exist" in message
    with pytest.raises(UserError, match="set by --config"):
        resolve_config_paths({"corpora_dir": "gone"}, [], {"corpora_dir": "gone"}, layout / "repo", layout / "run")
    (layout / "run/a file").write_text("")
    with pytest.raises(UserError, match="corpora_dir.*and that is not a folder"):
        resolve_config_paths({"corpora_dir": "a file"}, [], {"corpora_dir": "a file"}, layout / "repo", layout / "run")
    registry = {"huner_registry": "nothing.yaml"}
    with pytest.raises(UserError, match="huner_registry.*that file does not exist"):
        resolve_config_paths(registry, [], {}, layout / "repo", layout / "run")


def test_an_unused_missing_path_is_no_error(layout):
    # config.yaml: every task from HUNER, corpora_dir (resources/corpora) never read
    config = {"corpora_dir": "resources/nothing"}
    resolve_config_paths(config, [], {}, layout / "repo", layout / "run", unused=["corpora_dir"])
    assert config["corpora_dir"] == str(layout / "repo/resources/nothing")


def test_absolute_and_home_paths_stay_as_written(layout, monkeypatch):
    monkeypatch.setenv("HOME", str(layout / "my configs"))
    config = {"corpora_dir": str(layout / "run/corpora"), "paper_dir": "~/corpora"}
    resolve_config_paths(config, [], {}, layout / "repo", layout / "run")
    # absolute inside the run folder: not rewritten (the commands stay as they were)
    assert config == {"corpora_dir": str(layout / "run/corpora"), "paper_dir": str(layout / "my configs/corpora")}


def test_huner_url_base_url_or_local_folder(layout):
    (layout / "x/mirror").mkdir()
    cfg = _config_file(layout / "x/a.yaml", {"huner_url_base": "mirror"})
    config = {"huner_url_base": "mirror"}
    resolve_config_paths(config, [cfg], {}, layout / "repo", layout / "run")
    assert config["huner_url_base"] == (layout / "x/mirror").resolve().as_uri()
    config = {"huner_url_base": "http://127.0.0.1:8000"}
    assert resolve_config_paths(config, [cfg], {}, layout / "repo", layout / "run") == {}


def test_encoder_folders_resolve_hub_names_do_not(layout):
    (layout / "x/models/bert").mkdir(parents=True)
    cfg = _config_file(layout / "x/a.yaml", {"encoder": "models/bert"})
    config = {"encoder": "models/bert"}
    resolve_config_paths(config, [cfg], {}, layout / "repo", layout / "run")
    assert config["encoder"] == str(layout / "x/models/bert")
    for name in ("packaged:minilm", "dmis-lab/biobert-base-cased-v1.1"):
        assert resolve_config_paths({"encoder": name}, [cfg], {}, layout / "repo", layout / "run") == {}
    with pytest.raises(UserError, match="config key encoder"):
        resolve_config_paths({"encoder": "./models/gone"}, [], {}, layout / "repo", layout / "run")


def test_resolve_through_a_symlinked_run_folder(layout):
    os.symlink(layout / "run", layout / "link")
    # the config says ../run/corpora from x/; the run folder is reached through the link
    assert resolve("../run/corpora", layout / "x", layout / "link") == "corpora"
    assert resolve("../x/paper", layout / "x", layout / "run") == str(layout / "x/paper")
