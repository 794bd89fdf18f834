"""Baselines measured under the shared folds: k-NN on PCA features, the zoo's networks, a table.

`solution baselines` (make baselines) writes the comparison table; `knn` is the
classical baseline, `balance` the class counts and the oversamplers it can be trained with.
"""
