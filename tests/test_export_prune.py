"""Structured pruning on its own: consistent shapes, the right filters kept, MACs fall by the
asked share, and a pruned network still trains; for the recipe CNN and An et al.'s M3/M7."""

from __future__ import annotations

import numpy as np
import pytest

from export.prune import filter_importance, mac_counter, plan_pruning, prune_model
from solution.config import Config
from solution.models.cnn import count_macs
from solution.models.zoo import create_model

TINY = Config(width=8, head_width=16, epochs=1, batch_size=32, bn_momentum=0.9)
VARIANTS = {
    "conv-head": TINY,
    "dense-head": TINY.replace(head="dense"),
    "pool": TINY.replace(downsample="pool"),
    "no-bn": TINY.replace(batch_norm=False),
    "m3": Config(arch="m3", bn_momentum=0.9),  # Flatten of an 8x8 map feeds the dense layer
    "m7": Config(arch="m7", bn_momentum=0.9),  # ... of a 4x4 map
}


def _halved(widths: tuple[int, ...]) -> tuple[int, ...]:
    return tuple(w // 2 for w in widths)


def _randomised(cfg: Config, seed: int = 0):
    """A model with random BN statistics too, so slicing mistakes change the outputs."""
    import keras

    keras.utils.set_random_seed(seed)
    model = create_model(cfg)
    rng = np.random.default_rng(seed)
    for layer in model.layers:
        if isinstance(layer, keras.layers.BatchNormalization):
            gamma, beta, mean, var = layer.get_weights()
            layer.set_weights([rng.uniform(0.2, 2, gamma.shape), rng.normal(0, .3, beta.shape),
                               rng.normal(0, .3, mean.shape), rng.uniform(.5, 2, var.shape)])
    return model


@pytest.fixture(scope="module")
def images() -> np.ndarray:
    return np.random.default_rng(1).random((16, 28, 28, 1), dtype=np.float32)


@pytest.mark.parametrize("variant", VARIANTS)
def test_keeping_every_filter_reproduces_the_network(variant, images):
    cfg = VARIANTS[variant]
    model = _randomised(cfg)
    same, same_cfg = prune_model(model, cfg, cfg.layer_widths())
    assert same_cfg.channels == cfg.layer_widths()
    np.testing.assert_allclose(same.predict(images, verbose=0), model.predict(images, verbose=0),
                               atol=1e-6)


@pytest.mark.parametrize("variant", VARIANTS)
def test_pruned_network_has_the_asked_widths_and_the_kept_filters(variant, images):
    cfg = VARIANTS[variant]
    model = _randomised(cfg)
    widths = _halved(cfg.layer_widths())
    pruned, pruned_cfg = prune_model(model, cfg, widths)
    for i, width in enumerate(widths):
        kernel = np.asarray(pruned.get_layer(f"conv{i}").kernel)
        assert kernel.shape[-1] == width
        if i:
            assert kernel.shape[2] == widths[i - 1]  # input slice follows the layer before
    # conv0 keeps its most important filters, unchanged and in their original order
    score = filter_importance(model, 0)
    kept = np.sort(np.argsort(-score)[:widths[0]])
    np.testing.assert_array_equal(np.asarray(pruned.get_layer("conv0").kernel),
                                  np.asarray(model.get_layer("conv0").kernel)[..., kept])
    probs = pruned.predict(images, verbose=0)
    assert probs.shape == (len(images), 10)
    np.testing.assert_allclose(probs.sum(1), 1.0, atol=1e-5)
    assert count_macs(pruned) < count_macs(model)
    assert count_macs(create_model(pruned_cfg)) == count_macs(pruned)


@pytest.mark.parametrize("variant", ["conv-head", "dense-head", "m3", "m7"])
def test_removing_filters_that_output_nothing_changes_no_prediction(variant, images):
    """Silence half of every layer's filters (BN gamma = beta = 0: ReLU outputs 0): pruning must
    remove exactly those and slice every later kernel, the dense layer behind Flatten included,
    so that the narrower network computes the very same function."""
    cfg = VARIANTS[variant]
    model = _randomised(cfg)
    widths = _halved(cfg.layer_widths())
    rng = np.random.default_rng(3)
    for i, width in enumerate(cfg.layer_widths()):
        bn = model.get_layer(f"bn{i}")
        gamma, beta, mean, var = bn.get_weights()
        silent = rng.choice(width, width - widths[i], replace=False)
        gamma[silent] = beta[silent] = 0.0
        bn.set_weights([gamma, beta, mean, var])
    pruned, _ = prune_model(model, cfg, widths)
    assert count_macs(pruned) < 0.6 * count_macs(model)
    np.testing.assert_allclose(pruned.predict(images, verbose=0),
                               model.predict(images, verbose=0), atol=2e-5)


def test_importance_uses_the_folded_batch_norm_scale():
    model = _randomised(TINY)
    bn = model.get_layer("bn1")
    gamma, beta, mean, var = bn.get_weights()
    gamma[3] = 0.0  # this filter's output is a constant whatever its kernel
    bn.set_weights([gamma, beta, mean, var])
    conv = model.get_layer("conv1")
    kernel = conv.get_weights()[0]
    kernel[..., 3] *= 100.0  # the largest raw kernel of the layer
    conv.set_weights([kernel])
    score = filter_importance(model, 1)
    assert score[3] == 0.0
    pruned, _ = prune_model(model, TINY, _halved(TINY.layer_widths()))
    assert pruned.get_layer("conv1").kernel.shape[-1] == 4


@pytest.mark.parametrize("arch", ["cnn", "m3", "m5", "m7"])
@pytest.mark.parametrize("target", [0.3, 0.45])
def test_plan_removes_the_asked_share_of_macs(arch, target):
    cfg = Config(arch=arch)  # the full networks
    widths = cfg.layer_widths()
    plan = plan_pruning(cfg, target)
    assert plan.mac_reduction >= target
    assert plan.mac_reduction < target + 0.25  # not much more than asked
    assert plan.macs_after == count_macs(create_model(cfg.replace(channels=plan.widths)))
    assert all(kept >= 0.5 * width for kept, width in zip(plan.widths, widths, strict=True))
    assert all(w % 8 == 0 for w in plan.widths)
    if arch == "cnn":  # a stage stays one width: the recipe's convs of a stage narrow together
        assert len(set(plan.widths[:3])) == len(set(plan.widths[3:6])) == 1


def test_plan_narrows_first_the_stage_whose_filters_cost_most():
    """The default's first stage works on the 28x28 map: a filter there costs several times
    one after the downsampling, so the lighter rung narrows that stage alone."""
    from solution.profiles import PROFILES

    cfg = PROFILES["default"].apply(Config())
    light, heavy = plan_pruning(cfg, 0.30), plan_pruning(cfg, 0.45)
    assert light.widths[:3] == heavy.widths[:3] == (16, 16, 16)
    assert light.widths[3:] == cfg.layer_widths()[3:]  # the rest as trained
    assert heavy.widths[3:6] < cfg.layer_widths()[3:6]
    assert heavy.mac_reduction > light.mac_reduction >= 0.30


@pytest.mark.parametrize("variant", VARIANTS)
def test_the_planners_mac_count_is_the_built_networks(variant):
    cfg = VARIANTS[variant]
    macs = mac_counter(cfg)
    rng = np.random.default_rng(5)
    for _ in range(3):
        widths = tuple(int(rng.integers(1, w + 1)) for w in cfg.layer_widths())
        assert macs(widths) == count_macs(create_model(cfg.replace(channels=widths)))


def test_plan_refuses_an_impossible_target():
    with pytest.raises(ValueError, match="no narrower network reaches"):
        plan_pruning(Config(width=1, head_width=1), 0.5)


def test_prune_refuses_a_wrong_number_of_widths():
    with pytest.raises(ValueError, match="conv layers"):
        prune_model(create_model(TINY), TINY, (4, 4))


@pytest.mark.slow
def test_a_pruned_network_still_trains(small_frames):
    from solution.training.fit import fit_member, predict_probs

    train, _ = small_frames
    images = train.drop(columns="label").to_numpy(np.uint8).reshape(-1, 28, 28)[:320]
    labels = train["label"].to_numpy()[:320]
    cfg = TINY.replace(rotation=0.0, zoom=0.0, shift=0.0, learning_rate=3e-3, epochs=3,
                       dropout=0.0)
    pruned, pruned_cfg = prune_model(create_model(cfg), cfg,
                                     _halved(cfg.layer_widths()))

    def loss() -> float:
        probs = predict_probs(pruned, images)
        return float(-np.mean(np.log(probs[np.arange(len(labels)), labels] + 1e-7)))

    before = loss()
    tuned, history = fit_member(pruned_cfg, images, labels, images[:64], labels[:64], seed=0,
                                model=pruned)
    assert tuned is pruned
    assert np.isfinite(history["loss"]).all()
    assert loss() < before - 0.1


def test_batch_norm_recalibration_matches_the_statistics_of_the_pruned_network(images):
    import keras

    from export.prune import recalibrate_batch_norm

    model = _randomised(TINY)
    pruned, _ = prune_model(model, TINY, _halved(TINY.layer_widths()))
    recalibrate_batch_norm(pruned, images)
    for i in range(TINY.conv_layers):
        bn = pruned.get_layer(f"bn{i}")
        seen = np.asarray(keras.Model(pruned.inputs[0], bn.input)(images)).reshape(
            -1, bn.moving_mean.shape[0])
        np.testing.assert_allclose(np.asarray(bn.moving_mean), seen.mean(0), atol=1e-4)
        np.testing.assert_allclose(np.asarray(bn.moving_variance), seen.var(0), rtol=1e-3,
                                   atol=1e-5)


@pytest.mark.parametrize("arch", ["m3", "m5", "m7"])
def test_simple_cnns_plan_like_the_recipe_and_the_rest_are_refused(arch):
    cfg = Config(arch=arch)
    plan = plan_pruning(cfg, 0.45)
    assert plan.mac_reduction >= 0.45
    assert len(plan.widths) == cfg.conv_layers
    pruned_cfg = cfg.replace(channels=plan.widths)
    assert Config.from_dict(pruned_cfg.to_dict()) == pruned_cfg
    with pytest.raises(ValueError, match="arch lenet5 has no conv widths to prune"):
        plan_pruning(Config(arch="lenet5"), 0.45)
