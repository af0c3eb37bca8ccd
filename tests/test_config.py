"""Config files: `base:` inheritance, one-line errors, and every config in the repository resolving."""
from pathlib import Path

import pytest

from efld_export.augment import AugmentConfig
from efld_export.cli import main
from efld_export.config import from_mapping, load_config
from efld_export.distill import DistillConfig
from efld_export.errors import EFLDError
from efld_export.loss import LossConfig
from efld_export.models import create_model
from efld_export.train import TrainConfig

ROOT = Path(__file__).resolve().parents[1]
CONFIGS = sorted(p for d in ("efld_export/configs", "benchmarks") for p in (ROOT / d).rglob("*.yaml"))


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def test_a_config_states_only_what_it_changes_from_its_base(tmp_path):
    """Sections merge key by key, lists and scalars replace, the base path is relative to the config,
    a base's base is followed, and flags override the result."""
    write(tmp_path / "recipes" / "root.yaml", "epochs: 48\nlr: 0.002\nseed: 5\n")
    write(tmp_path / "recipes" / "stage.yaml",
          "base: root.yaml\ntrain: [a, b]\nmodel: {name: efld_mnv3_small, width: 0.5, act: relu6}\n"
          "loss: {kind: wing, offset: 1.0}\ndistill: {teachers: [t.pt], weight: 0.5}\nepochs: 26\n")
    child = write(tmp_path / "run.yaml", "base: recipes/stage.yaml\ntrain: [c]\nmodel: {s3_channels: 32}\n"
                                         "loss: {offset: 2.0}\ndistill: null\nlr: 0.001\n")
    cfg = TrainConfig.from_file(child, {"epochs": 3, "seed": None})
    assert cfg.train == ["c"]
    assert cfg.model == {"name": "efld_mnv3_small", "width": 0.5, "act": "relu6", "s3_channels": 32}
    assert cfg.loss == {"kind": "wing", "offset": 2.0}
    assert cfg.distill is None
    assert (cfg.lr, cfg.epochs, cfg.seed) == (0.001, 3, 5)
    assert "base" not in load_config(child)


@pytest.mark.parametrize("text, match", [
    ("base: missing.yaml\n", r"missing\.yaml: config file not found \(base of .*bad\.yaml\)"),
    ("base: bad.yaml\n", r"config bases form a cycle"),
    ("epochs: 3\nlr: 0.1\nepochs: 4\n", r"bad\.yaml:3: not valid YAML \(key 'epochs' given twice\)"),
    ("- epochs\n", r"a config must be a mapping of keys, not list"),
    ("epochs: [3\n", r"bad\.yaml:2: not valid YAML \(expected ',' or '\]'"),
])
def test_a_broken_config_is_a_one_line_error(tmp_path, capsys, text, match):
    bad = write(tmp_path / "bad.yaml", text)
    with pytest.raises(EFLDError, match=match) as e:
        TrainConfig.from_file(bad)
    assert "\n" not in str(e.value)
    with pytest.raises(SystemExit) as exit_:
        main(["train", str(bad)])
    err = capsys.readouterr().err
    assert exit_.value.code == 2 and len(err.strip().splitlines()) == 1, err


def test_a_cycle_through_two_files_is_named(tmp_path):
    write(tmp_path / "a.yaml", "base: b.yaml\n")
    write(tmp_path / "b.yaml", "base: a.yaml\n")
    with pytest.raises(EFLDError, match=r"a\.yaml -> .*b\.yaml -> .*a\.yaml"):
        load_config(tmp_path / "a.yaml")


@pytest.mark.parametrize("path", CONFIGS, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_config_in_the_repository_resolves_to_a_buildable_run(path):
    """A recorded recipe whose base moved or whose key is mistyped fails here, not hours into a run."""
    cfg = TrainConfig.from_file(path)
    from_mapping(LossConfig, cfg.loss, "loss")
    from_mapping(AugmentConfig, cfg.augment, "augment")
    if cfg.distill is not None:
        assert from_mapping(DistillConfig, cfg.distill, "distill").teachers
    model = dict(cfg.model)
    assert create_model(model.pop("name"), **model) is not None
    assert cfg.train and cfg.epochs > 0 and cfg.lr > 0


@pytest.mark.parametrize("path", CONFIGS, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_committed_checkpoint_a_config_names_exists(path):
    """A release moves the shipped weights to models/NAME/stageN/ and the recipes that trained from them are
    re-pointed there; a mistyped stage would only fail hours later, at a rerun. (runs/ paths are made by an
    earlier step of the recipe's script and are not checked.)"""
    cfg = TrainConfig.from_file(path)
    named = [cfg.init] + list((cfg.distill or {}).get("teachers", []))
    if isinstance(cfg.label_models, dict):
        named += [f for files in cfg.label_models.values() for f in files or []]
    else:
        named += list(cfg.label_models or [])
    missing = [f for f in named if f and f.startswith("models/") and not (ROOT / f).is_file()]
    assert not missing, f"{path.name} names {missing}"


def test_print_config_shows_the_resolved_config_and_trains_nothing(tmp_path, capsys):
    """What a run would use, base chain and flags applied, in the form its config.yaml records."""
    import yaml

    write(tmp_path / "base.yaml", "epochs: 48\nmodel: {name: efld_mnv3_small, width: 0.5}\n")
    child = write(tmp_path / "child.yaml", f"base: base.yaml\nmodel: {{s3_channels: 32}}\nout: {tmp_path / 'run'}\n")
    main(["train", str(child), "--print-config", "--lr", "0.01"])
    shown = yaml.safe_load(capsys.readouterr().out)
    assert shown == yaml.safe_load(TrainConfig.from_file(child, {"lr": 0.01}).to_yaml())
    assert shown["model"] == {"name": "efld_mnv3_small", "width": 0.5, "s3_channels": 32}
    assert (shown["epochs"], shown["lr"]) == (48, 0.01)
    assert not (tmp_path / "run").exists()
