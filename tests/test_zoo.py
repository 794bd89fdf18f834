"""The model zoo: every registered network builds, predicts probabilities and trains one step."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from solution.config import ARCHS, Config
from solution.models.cnn import count_macs
from solution.models.zoo import create_model, list_models
from solution.profiles import get_profile
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


def test_cnn_fingerprints_predate_the_zoo_so_old_runs_are_reused():
    default = get_profile("default").apply(Config())
    assert default.fingerprint() == "ef71e60ab8"  # the value before `arch` existed
    assert default.replace(arch="m5").fingerprint() != default.fingerprint()
    assert default.replace(ema_momentum=0.99).fingerprint() != default.fingerprint()
    with pytest.raises(ValueError, match=r"config field ema_momentum=0.5: must be 0 \(off\)"):
        Config(ema_momentum=0.5)


def test_config_and_zoo_import_without_tensorflow():
    code = ("import sys, solution.config, solution.models.zoo; "
            "assert 'tensorflow' not in sys.modules and 'keras' not in sys.modules")
    subprocess.run([sys.executable, "-c", code], cwd=REPO, check=True,
                   env={"PYTHONPATH": str(REPO), "PATH": "/usr/bin:/bin"})
