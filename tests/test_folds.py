"""The shared split: stratified, disjoint, covering, reproducible."""

import numpy as np

from solution.training.folds import N_FOLDS, stratified_folds


def _labels(n: int = 2000, seed: int = 1) -> np.ndarray:
    return np.random.default_rng(seed).choice(10, size=n, p=np.linspace(0.05, 0.15, 10) / 1.0)


def test_validation_folds_are_disjoint_and_cover_every_row():
    labels = _labels()
    folds = stratified_folds(labels)
    assert len(folds) == N_FOLDS
    val = np.concatenate([v for _, v in folds])
    assert np.array_equal(np.sort(val), np.arange(len(labels)))
    for train, v in folds:
        assert not set(train) & set(v)
        assert len(train) + len(v) == len(labels)


def test_every_fold_keeps_the_class_proportions():
    labels = _labels()
    overall = np.bincount(labels, minlength=10) / len(labels)
    for _, val in stratified_folds(labels):
        share = np.bincount(labels[val], minlength=10) / len(val)
        assert np.abs(share - overall).max() < 0.01


def test_same_seed_same_folds_other_seed_other_folds():
    labels = _labels()
    first, again = stratified_folds(labels), stratified_folds(labels)
    assert all(np.array_equal(a[1], b[1]) for a, b in zip(first, again, strict=True))
    other = stratified_folds(labels, seed=7)
    assert not np.array_equal(first[0][1], other[0][1])
