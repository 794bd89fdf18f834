"""Tuning: the search space, the Optuna objective and workers, study storage and summary."""
