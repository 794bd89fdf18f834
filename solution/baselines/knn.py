"""k-nearest neighbours on PCA features, scored on the shared 5 folds like the networks.

Per outer fold: PCA is fitted on the fold's training rows (pixels / 255; no labels involved),
then k and the vote weighting are chosen by an inner stratified 3-fold grid search on those rows
only, and the chosen classifier predicts the fold's validation rows. The neighbours are searched
once per inner split for the largest k and every (k, weights) pair is scored from them, which
gives the same result as refitting each pair at a tenth of the cost. Oversampling, when asked
for, resamples only the rows a classifier is fitted on (inner and outer).

Resumable like `run_cv`: runs/knn-<settings>-data-<data>/fold{k}.npz holds val_index and
val_probs, fold{k}.json (written last) the chosen parameters, inner scores and timings.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from solution.atomic import atomic_path, write_json
from solution.baselines.balance import oversample
from solution.data.competition import NUM_CLASSES, Competition
from solution.training.cv import data_fingerprint
from solution.training.fit import Log
from solution.training.folds import FOLD_SEED, N_FOLDS, stratified_folds

WEIGHTS = ("uniform", "distance")


@dataclass(frozen=True)
class KnnSettings:
    components: int = 50  # PCA dimensions: ~80% of pixel variance, neighbour search ~16x cheaper
    neighbors: tuple[int, ...] = (1, 3, 5, 7, 9)  # k values tried by the inner grid search
    weights: tuple[str, ...] = WEIGHTS  # vote weighting: one vote each, or 1 / distance
    inner_folds: int = 3  # inner stratified folds of the grid search
    oversample: str = "none"  # none | random | smote, on the rows a classifier is fitted on

    def fingerprint(self) -> str:
        blob = json.dumps(dataclasses.asdict(self), sort_keys=True).encode()
        return hashlib.sha256(blob).hexdigest()[:10]


@dataclass
class KnnResult:
    oof_probs: np.ndarray  # (N, 10) float32; rows of folds not run are NaN
    fold_accuracies: dict[int, float]
    folds: list[dict]  # per fold: k, weights, inner scores, train/predict seconds
    run_dir: Path

    @property
    def covered(self) -> np.ndarray:
        return ~np.isnan(self.oof_probs[:, 0])


def knn_run_id(settings: KnnSettings, comp: Competition) -> str:
    return f"knn-{settings.fingerprint()}-data-{data_fingerprint(comp)}"


def vote(neighbor_labels: np.ndarray, distances: np.ndarray, k: int, weights: str) -> np.ndarray:
    """Class probabilities (N, 10) from the k nearest neighbours, as scikit-learn's
    `KNeighborsClassifier.predict_proba` computes them (an exact match gets all the weight)."""
    labels, dist = neighbor_labels[:, :k], distances[:, :k]
    if weights == "uniform":
        w = np.ones_like(dist)
    else:
        exact = dist == 0
        with np.errstate(divide="ignore"):
            w = np.where(exact.any(1, keepdims=True), exact.astype(float), 1.0 / dist)
    probs = np.stack([(w * (labels == c)).sum(1) for c in range(NUM_CLASSES)], axis=1)
    return (probs / probs.sum(1, keepdims=True)).astype(np.float32)


def neighbours(train_x: np.ndarray, train_y: np.ndarray, query_x: np.ndarray,
               k: int) -> tuple[np.ndarray, np.ndarray]:
    """Labels and euclidean distances of the k nearest training rows, nearest first."""
    from sklearn.neighbors import NearestNeighbors

    index = NearestNeighbors(n_neighbors=k, algorithm="brute").fit(train_x)
    dist, idx = index.kneighbors(query_x)
    return train_y[idx], dist


def select(features: np.ndarray, labels: np.ndarray, settings: KnnSettings,
           seed: int) -> tuple[int, str, dict[str, float]]:
    """(k, weights, {"k=.. weights=..": inner accuracy}) by inner stratified CV.

    Ties go to the smaller k, then to uniform votes (the simpler model).
    """
    from sklearn.model_selection import StratifiedKFold

    splitter = StratifiedKFold(settings.inner_folds, shuffle=True, random_state=seed)
    kmax = max(settings.neighbors)
    correct = {(k, w): 0 for k in settings.neighbors for w in settings.weights}
    for fit_rows, score_rows in splitter.split(features, labels):
        x, y = oversample(features[fit_rows], labels[fit_rows], settings.oversample, seed)
        near_y, near_d = neighbours(x, y, features[score_rows], kmax)
        for k, w in correct:
            predicted = vote(near_y, near_d, k, w).argmax(1)
            correct[k, w] += int(np.sum(predicted == labels[score_rows]))
    scores = {f"k={k} weights={w}": n / len(labels) for (k, w), n in correct.items()}
    best = max(correct, key=lambda kw: (correct[kw], -kw[0], kw[1] == "uniform"))
    return best[0], best[1], scores


def knn_cv(comp: Competition, settings: KnnSettings, runs_dir: Path, *,
           folds: Sequence[int] | None = None, seed: int = FOLD_SEED,
           log: Log | None = None) -> KnnResult:
    """Out-of-fold probabilities of the tuned k-NN on the chosen folds (reusing finished ones)."""
    run_dir = Path(runs_dir) / knn_run_id(settings, comp)
    run_dir.mkdir(parents=True, exist_ok=True)
    write_json(run_dir / "settings.json", dataclasses.asdict(settings))
    labels = comp.train_labels
    oof = np.full((len(labels), NUM_CLASSES), np.nan, np.float32)
    result = KnnResult(oof, {}, [], run_dir)
    splits = stratified_folds(labels)
    for fold in (range(N_FOLDS) if folds is None else sorted(set(folds))):
        train_index, val_index = splits[fold]
        info_path, probs_path = run_dir / f"fold{fold}.json", run_dir / f"fold{fold}.npz"
        if info_path.is_file():
            info = json.loads(info_path.read_text())
            val_probs = np.load(probs_path)["val_probs"]
        else:
            info, val_probs = _fold(comp, settings, train_index, val_index, seed + fold)
            with atomic_path(probs_path) as tmp, open(tmp, "wb") as stream:
                np.savez(stream, val_index=val_index, val_probs=val_probs)
            write_json(info_path, {"fold": fold, **info})
        oof[val_index] = val_probs
        result.fold_accuracies[fold] = float(np.mean(val_probs.argmax(1) == labels[val_index]))
        result.folds.append({"fold": fold, **info})
        if log:
            log(f"knn fold {fold + 1}/{N_FOLDS}: k={info['k']} weights={info['weights']} "
                f"accuracy {result.fold_accuracies[fold]:.5f}")
    return result


def _fold(comp: Competition, settings: KnnSettings, train_index: np.ndarray,
          val_index: np.ndarray, seed: int) -> tuple[dict, np.ndarray]:
    from sklearn.decomposition import PCA

    started = time.perf_counter()
    pixels = comp.train_images.reshape(len(comp.train_images), -1).astype(np.float32) / 255.0
    pca = PCA(settings.components, svd_solver="randomized", random_state=seed)
    train_x = pca.fit_transform(pixels[train_index])
    k, weights, scores = select(train_x, comp.train_labels[train_index], settings, seed)
    fit_x, fit_y = oversample(train_x, comp.train_labels[train_index], settings.oversample, seed)
    train_seconds = time.perf_counter() - started
    started = time.perf_counter()  # predicting: PCA projection, neighbour search, vote
    near_y, near_d = neighbours(fit_x, fit_y, pca.transform(pixels[val_index]), k)
    val_probs = vote(near_y, near_d, k, weights)
    predict_seconds = time.perf_counter() - started
    info = {"k": k, "weights": weights, "inner_scores": scores, "fit_rows": len(fit_y),
            "train_seconds": round(train_seconds, 2),
            "predict_ms_per_1000": round(1e6 * predict_seconds / len(val_index), 1),
            "explained_variance": round(float(pca.explained_variance_ratio_.sum()), 4)}
    return info, val_probs
