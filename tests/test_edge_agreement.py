"""The bound on the accuracy gap between the edge model and the Keras ensemble."""

import numpy as np

from solution.bench.edge_agreement import agreement


def test_disagreement_bounds_the_accuracy_gap():
    keras_probs = np.eye(10, dtype=np.float32)[[1, 2, 3, 4]]
    figures = agreement(np.array([1, 2, 3, 9]), keras_probs)
    assert figures == {"images": 4, "agreement": 0.75, "max_accuracy_gap_pp": 25.0}
