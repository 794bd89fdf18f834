"""How far the edge package's answers on Kaggle's test set can be from the Keras ensemble's.

The test labels are held outside the project, so accuracy cannot be compared directly; but two
predictors that disagree on a share d of the images differ in accuracy by at most d. This reads
test.csv through `digit_edge.DigitReader` (arrays in MNIST convention, used as they are) and
compares with the run's Keras test probabilities (test_probs.npy).

    solution bench agreement [--run runs/<id>] [--data zip] [--model int8|fp32|path]
"""

from __future__ import annotations

import numpy as np

from solution.data.competition import load_competition
from solution.runfolder import RunFolder


def agreement(edge_digits: np.ndarray, keras_probs: np.ndarray) -> dict:
    """Share of images where both answer the same digit; the accuracy gap is at most 1 - that."""
    same = float(np.mean(edge_digits == keras_probs.argmax(1)))
    return {"images": len(edge_digits), "agreement": same, "max_accuracy_gap_pp":
            100 * (1 - same)}


def edge_agreement(run: RunFolder, data: str | None, model: str) -> dict:
    """`agreement` of the edge model `model` with the run's Keras test probabilities."""
    from digit_edge import DigitReader

    comp = load_competition(data or run.read_info()["data"]["source"])
    reader = DigitReader(model=model, min_confidence=0.0)  # no rejects: compare raw answers
    return agreement(reader.classify(comp.test_images).digits, run.test_probs())
