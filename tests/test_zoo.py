"""The model zoo: every registered network builds, predicts probabilities and trains one step."""

from __future__ import annotations

import dataclasses
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from solution.config import (
    ARCHS,
    NETWORK_FIELDS,
    PRUNABLE,
    SIMPLE_CNNS,
    TRAINING_FIELDS,
    Config,
)
from solution.models.cnn import count_macs
from solution.models.zoo import (
    create_model,
    fields_read,
    list_models,
    network_fields,
    register,
)
from solution.profiles import get_profile
from solution.training.cv import one_round_config
from solution.training.fit import fit_member

REPO = Path(__file__).resolve().parents[1]


def _images(count: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    return rng.integers(0, 256, (count, 28, 28), dtype=np.uint8), np.arange(count) % 10


def test_registry_covers_every_arch_a_config_accepts():
    assert list_models() == list(ARCHS)


@pytest.mark.parametrize("arch", list_models())
def test_network_builds_and_predicts_probabilities(arch):
    model = create_model(Config(arch=arch))
    assert model.input.shape == (None, 28, 28, 1)
    assert model.layers[0].name == "image" and model.layers[-1].name == "probabilities"
    probs = model.predict(np.random.default_rng(0).random((3, 28, 28, 1), np.float32), verbose=0)
    assert probs.shape == (3, 10)
    assert np.allclose(probs.sum(1), 1.0, atol=1e-5)
    assert not any("random" in layer.name.lower() for layer in model.layers)  # no augmentation


@pytest.mark.parametrize("arch", list_models())
def test_fit_member_trains_the_configured_arch_one_step(arch):
    import keras

    cfg = Config(arch=arch, epochs=1, batch_size=8, bn_momentum=0.9)
    images, labels = _images(12)
    model, history = fit_member(cfg, images[:8], labels[:8], images[8:], labels[8:], seed=3)
    keras.utils.set_random_seed(3)  # fit_member seeds the same way before building
    fresh = create_model(cfg)
    assert [w.shape for w in model.weights] == [w.shape for w in fresh.weights]
    moved = [not np.allclose(a, b) for a, b in zip(model.get_weights(), fresh.get_weights(),
                                                     strict=True)]
    assert any(moved), "one training step changed no weight"
    assert len(history["loss"]) == 1 and np.isfinite(history["loss"][0])


def test_simple_cnns_follow_an_et_al_no_pooling_valid_convs():
    m7 = create_model(Config(arch="m7"))
    convs = [(7 * 7 * cin * cout * size * size) for cin, cout, size in
             [(1, 48, 22), (48, 96, 16), (96, 144, 10), (144, 192, 4)]]
    assert count_macs(m7) == sum(convs) + 4 * 4 * 192 * 10
    m3 = create_model(Config(arch="m3"))
    assert [layer.filters for layer in m3.layers if hasattr(layer, "filters")] == \
        list(range(32, 177, 16))
    assert m3.get_layer("logits").kernel.shape == (8 * 8 * 176, 10)
    assert all(not layer.use_bias for layer in m3.layers if hasattr(layer, "filters"))


def test_arch_is_validated_and_channels_stay_with_the_conv_families():
    with pytest.raises(ValueError, match="config field arch='resnet': unknown"):
        Config(arch="resnet")
    with pytest.raises(ValueError, match=r"config field channels=.*only arch cnn, m3, m5, m7"):
        Config(arch="lenet5", channels=(8,) * 7)
    with pytest.raises(ValueError, match=r"config field channels=.*needs 5 entries"):
        Config(arch="m5", channels=(8,) * 7)
    narrow = Config(arch="m5", channels=(16, 32, 48, 64, 80))
    assert Config.from_dict(narrow.to_dict()) == narrow
    convs = [layer.filters for layer in create_model(narrow).layers if hasattr(layer, "filters")]
    assert convs == [16, 32, 48, 64, 80]


def test_every_arch_declares_the_network_fields_it_reads():
    fields = [f.name for f in dataclasses.fields(Config)]
    assert sorted(["arch", *TRAINING_FIELDS, *NETWORK_FIELDS]) == sorted(fields)  # a partition
    assert set(network_fields("cnn")) == set(NETWORK_FIELDS)
    for arch in SIMPLE_CNNS:
        assert network_fields(arch) == ("batch_norm", "bn_momentum", "channels")
    assert network_fields("lenet5") == ()
    for arch in ("mlp512", "mlp1024"):
        assert network_fields(arch) == ("batch_norm", "bn_momentum", "dropout")
    for arch in list_models():
        assert set(network_fields(arch)) <= set(NETWORK_FIELDS)
        assert fields_read(arch) == ("arch", *TRAINING_FIELDS, *network_fields(arch))
        assert set(fields_read(arch)) <= set(fields)
    with pytest.raises(ValueError, match=r"reads widht: not in solution\.config\.NETWORK_FIELDS"):
        register("cnn", reads=("widht",))
    with pytest.raises(ValueError, match="arch 'resnet' has no builder"):
        network_fields("resnet")


# A second value for every network field, to show which ones a builder really reads.
_OTHER_VALUES = {"width": 16, "stages": 1, "convs_per_stage": 1, "kernel_size": 5,
                 "downsample": "pool", "batch_norm": False, "bn_momentum": 0.9, "dropout": 0.2,
                 "head": "dense", "head_width": 64}


@pytest.mark.parametrize("arch", list_models())
def test_declared_fields_are_exactly_what_the_builder_reads(arch):
    """Changing a network field the arch does not declare leaves the built network identical;
    changing one it declares changes it (so the fingerprint may skip exactly the others)."""
    base = Config(arch=arch)
    others = dict(_OTHER_VALUES)
    if arch in PRUNABLE:  # narrower convs; other archs must keep channels empty
        others["channels"] = tuple(max(1, w // 2) for w in base.layer_widths())
    assert set(others) | {"channels"} == set(NETWORK_FIELDS)

    def described(cfg: Config) -> str:
        return json.dumps(create_model(cfg).get_config(), sort_keys=True, default=str)

    reference = described(base)
    for name, value in others.items():
        changed = described(base.replace(**{name: value}))
        assert (changed != reference) == (name in network_fields(arch)), name


def test_fingerprint_hashes_only_the_fields_the_arch_reads():
    m5 = Config(arch="m5")
    assert m5.replace(width=64, convs_per_stage=3, dropout=0.1, head="dense").fingerprint() == \
        m5.fingerprint()  # the same m5 network: one run folder, its folds reused
    for changed in ({"bn_momentum": 0.9}, {"channels": (16, 32, 48, 64, 80)},
                    {"learning_rate": 2e-3}, {"epochs": 3}, {"rotation": 5.0}, {"tta": True}):
        assert m5.replace(**changed).fingerprint() != m5.fingerprint(), changed
    cnn = Config()
    assert cnn.replace(width=64).fingerprint() != cnn.fingerprint()
    assert cnn.replace(arch="m5").fingerprint() != cnn.fingerprint()
    assert Config(arch="lenet5", dropout=0.1, batch_norm=False).fingerprint() == \
        Config(arch="lenet5").fingerprint()
    assert Config(arch="mlp512", dropout=0.1).fingerprint() != Config(arch="mlp512").fingerprint()
    assert Config(arch="mlp512").fingerprint() != Config(arch="mlp1024").fingerprint()
    default = get_profile("default").apply(Config())
    # Pinned: a change here gives every configuration a new run folder (all runs retrain once),
    # and README's run ids (runs/cnn-<fingerprint>-data-...) need the new value.
    assert default.fingerprint() == "5b6d4a6dd9"
    # the default before its clean epoch (issue 21's fourth session)
    assert default.replace(clean_epochs=0).fingerprint() == "e450d9c53f"
    # the options are measured against the default before issue 12: its run folders must stay
    assert get_profile("default").apply_previous(Config()).fingerprint() == "91ca5021b0"
    assert default.replace(ema_momentum=0.99).fingerprint() != default.fingerprint()
    # the default before issue 21's fold teacher: one self-distilled member per fold, TTA
    before = default.replace(second_round_teacher="member", seeds_per_fold=1,
                             second_round_seeds=0, clean_epochs=0, tta=True)
    assert before.fingerprint() == "29b910fe74"
    # members are seeded per (fold, seed index): more seeds per fold share the folder
    assert before.replace(seeds_per_fold=3).fingerprint() == before.fingerprint()
    # issue 21's measured run, whose members are the default's first rounds (two per fold)
    assert one_round_config(default).fingerprint() == "af85284433"
    with pytest.raises(ValueError, match=r"config field ema_momentum=0.5: must be 0 \(off\)"):
        Config(ema_momentum=0.5)


def test_config_and_zoo_import_without_tensorflow():
    code = ("import sys, solution.config, solution.models.zoo; "
            "assert 'tensorflow' not in sys.modules and 'keras' not in sys.modules")
    subprocess.run([sys.executable, "-c", code], cwd=REPO, check=True,
                   env={"PYTHONPATH": str(REPO), "PATH": "/usr/bin:/bin"})
