"""The loader on the real download and on crafted bad files: one test per error case."""

from __future__ import annotations

import zipfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from solution.cli import main
from solution.data.competition import DataError, load_competition, locate
from tests.conftest import write_competition_zip


@pytest.fixture(scope="module")
def real(real_zip):
    return load_competition(real_zip)


def test_real_zip_shapes_and_types(real):
    assert real.train_images.shape == (42000, 28, 28)
    assert real.train_images.dtype == np.uint8
    assert real.test_images.shape == (28000, 28, 28)
    assert set(np.unique(real.train_labels)) == set(range(10))
    assert np.array_equal(real.test_ids, np.arange(1, 28001))
    assert real.sample_submission is not None and len(real.sample_submission) == 28000
    # nearly balanced, as the competition says: 3,795..4,684 per digit
    counts = np.bincount(real.train_labels)
    assert counts.min() == 3795 and counts.max() == 4684


def test_folder_and_explicit_paths_give_the_same_data(tmp_path, small_frames, small_zip):
    train, test = small_frames
    train.to_csv(tmp_path / "train.csv", index=False)
    test.to_csv(tmp_path / "test.csv", index=False)
    from_folder = load_competition(tmp_path)
    from_zip = load_competition(small_zip)
    explicit = load_competition(train_csv=str(tmp_path / "train.csv"),
                                test_csv=str(tmp_path / "test.csv"))
    for other in (from_zip, explicit):
        assert np.array_equal(from_folder.train_images, other.train_images)
        assert np.array_equal(from_folder.train_labels, other.train_labels)
        assert np.array_equal(from_folder.test_images, other.test_images)
    assert from_folder.sample_submission is None and from_zip.sample_submission is not None


def test_folder_holding_the_kaggle_zip(tmp_path, small_zip):
    (tmp_path / "digit-recognizer.zip").write_bytes(small_zip.read_bytes())
    assert len(load_competition(tmp_path).train_labels) == 400


def test_no_data_anywhere_says_how_to_get_it(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(DataError, match="kaggle competitions download -c digit-recognizer"):
        locate(None)


def _bad(tmp_path: Path, small_frames, edit_train=None, edit_test=None,
         raw_train: str | None = None) -> Path:
    train, test = (frame.copy() for frame in small_frames)
    if edit_train:
        train = edit_train(train)
    if edit_test:
        test = edit_test(test)
    path = write_competition_zip(tmp_path / "bad.zip", train, test)
    if raw_train is not None:
        rebuilt = tmp_path / "raw.zip"
        with zipfile.ZipFile(path) as src, zipfile.ZipFile(rebuilt, "w") as dst:
            for item in src.namelist():
                dst.writestr(item, raw_train if item == "train.csv" else src.read(item))
        path = rebuilt
    return path


def _set(frame: pd.DataFrame, row: int, column: str, value) -> pd.DataFrame:
    frame = frame.astype(object)
    frame.loc[row, column] = value
    return frame


BAD_CASES = {
    "label out of range": (dict(edit_train=lambda f: _set(f, 3, "label", 10)),
                           r"train\.csv: line 5, column label: label 10 is outside 0\.\.9"),
    "pixel out of range": (dict(edit_train=lambda f: _set(f, 0, "pixel7", 256)),
                           r"line 2, column pixel7: pixel 256 is outside 0\.\.255"),
    "negative pixel in test": (dict(edit_test=lambda f: _set(f, 9, "pixel0", -1)),
                               r"test\.csv: line 11, column pixel0: pixel -1 is outside"),
    "not a number": (dict(edit_train=lambda f: _set(f, 2, "pixel3", "abc")),
                     r"line 4, column pixel3: 'abc' is not a number"),
    "fractional pixel": (dict(edit_train=lambda f: _set(f, 5, "pixel100", 1.5)),
                         r"line 7, column pixel100: .*1\.5.* is not a whole number"),
    "missing value": (dict(edit_train=lambda f: _set(f, 1, "pixel9", None)),
                      r"line 3, column pixel9: missing value"),
    "wrong header name": (dict(edit_train=lambda f: f.rename(columns={"label": "digit"})),
                          r"header column 1 is 'digit', expected 'label'"),
    "test with a label column (785 columns)": (
        dict(edit_test=lambda f: f.assign(label=0)[["label", *f.columns]]),
        r"test\.csv: header has 785 columns, expected 784"),
    "train without label (784 columns)": (dict(edit_train=lambda f: f.drop(columns="label")),
                                          r"train\.csv: header has 784 columns, expected 785"),
    "empty file": (dict(raw_train=""), r"train\.csv: file is empty"),
    "header only": (dict(raw_train="label," + ",".join(f"pixel{i}" for i in range(784)) + "\n"),
                    r"train\.csv: header only, no data rows"),
    "ragged row": (dict(raw_train="label," + ",".join(f"pixel{i}" for i in range(784)) + "\n"
                        + "1," + ",".join(["0"] * 784) + "\n" + "1,0,0\n" + "2," +
                        ",".join(["0"] * 790) + "\n"),
                   r"train\.csv: malformed CSV"),
}


@pytest.mark.parametrize("case", list(BAD_CASES))
def test_bad_file_is_one_clear_line(tmp_path, small_frames, case):
    kwargs, message = BAD_CASES[case]
    path = _bad(tmp_path, small_frames, **kwargs)
    with pytest.raises(DataError, match=message) as caught:
        load_competition(path)
    assert "\n" not in str(caught.value)


def test_missing_path_and_not_a_zip(tmp_path):
    with pytest.raises(DataError, match="no such file or folder"):
        load_competition(tmp_path / "nowhere.zip")
    fake = tmp_path / "fake.zip"
    fake.write_text("not a zip")
    with pytest.raises(DataError, match="not a readable zip file"):
        load_competition(fake)


def test_zip_without_test_csv(tmp_path, small_frames):
    path = tmp_path / "partial.zip"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("train.csv", small_frames[0].to_csv(index=False))
    with pytest.raises(DataError, match=r"no test\.csv inside the zip \(has: train\.csv\)"):
        load_competition(path)


def test_cli_bad_data_exits_2_with_one_line(tmp_path, small_frames):
    path = _bad(tmp_path, small_frames, edit_train=lambda f: _set(f, 3, "label", 12))
    result = CliRunner().invoke(main, ["submit", "--data", str(path), "--profile", "smoke",
                                       "--runs-dir", str(tmp_path / "runs"),
                                       "--out", str(tmp_path / "sub.csv")])
    assert result.exit_code == 2
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert lines == [f"error: {path}:train.csv: line 5, column label: label 12 is outside 0..9"]
    assert not (tmp_path / "sub.csv").exists() and not (tmp_path / "runs").exists()
