"""How far the edge package's answers on Kaggle's test set can be from the Keras ensemble's.

The test labels are held outside the project, so accuracy cannot be compared directly; but two
predictors that disagree on a share d of the images differ in accuracy by at most d. This reads
test.csv through `digit_edge.DigitReader` (arrays in MNIST convention, used as they are) and
compares with the run's Keras test probabilities (test_probs.npy).

    python -m solution.bench.edge_agreement --run runs/<id> [--data zip] [--model int8|fp32|path]
"""

from __future__ import annotations

import json
from pathlib import Path

import click
import numpy as np

from solution.data.competition import DataError, load_competition


def agreement(edge_digits: np.ndarray, keras_probs: np.ndarray) -> dict:
    """Share of images where both answer the same digit; the accuracy gap is at most 1 - that."""
    same = float(np.mean(edge_digits == keras_probs.argmax(1)))
    return {"images": len(edge_digits), "agreement": same, "max_accuracy_gap_pp":
            100 * (1 - same)}


@click.command()
@click.option("--run", "run_dir", type=click.Path(file_okay=False, exists=True), required=True)
@click.option("--data", default=None, help="Kaggle zip or folder (default: the run's source).")
@click.option("--model", default="int8", show_default=True,
              help="Edge model: int8, fp32, or a path to an .onnx / models folder.")
def main(run_dir: str, data: str | None, model: str) -> None:
    """Print the agreement of the edge model with the Keras ensemble on the test set."""
    from digit_edge import DigitReader

    run = Path(run_dir)
    info = json.loads((run / "run.json").read_text())
    try:
        comp = load_competition(data or info["data"]["source"])
    except DataError as exc:
        raise click.ClickException(str(exc)) from None
    reader = DigitReader(model=model, min_confidence=0.0)  # no rejects: compare raw answers
    result = reader.classify(comp.test_images)
    figures = agreement(result.digits, np.load(run / "test_probs.npy"))
    click.echo(f"edge {model} vs Keras ensemble on {figures['images']} test images: agreement "
               f"{figures['agreement']:.5f}, so accuracies differ by at most "
               f"{figures['max_accuracy_gap_pp']:.3f} pp")


if __name__ == "__main__":
    main()
