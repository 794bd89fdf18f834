"""Training: the shared folds, the augmented input pipeline, fitting one member, and 5-fold CV."""
