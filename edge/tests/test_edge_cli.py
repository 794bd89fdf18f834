"""The CLI contract other programs parse: JSON lines, exit codes 0 / 1 / 2, messages on stderr."""

from __future__ import annotations

import csv
import json
import shutil

import pytest
from edge_helpers import field, scan

from digit_edge import DigitReader
from digit_edge.cli import main
from digit_edge.model import BUNDLED


@pytest.fixture(scope="module")
def digit_dir(tmp_path_factory, train_digits):
    folder = tmp_path_factory.mktemp("digits")
    images, labels = train_digits
    with (folder / "labels.csv").open("w", newline="") as stream:
        writer = csv.writer(stream)
        writer.writerow(["file", "label"])
        for index in range(6):
            name = f"d{index}.png" if index % 2 else f"d{index}.jpg"
            scan(images[index]).convert("RGB").save(folder / name)
            writer.writerow([name, int(labels[index])])
    return folder


@pytest.fixture(scope="module")
def field_dir(tmp_path_factory, train_digits):
    folder = tmp_path_factory.mktemp("fields")
    images, labels = train_digits
    with (folder / "labels.csv").open("w", newline="") as stream:
        writer = csv.writer(stream)
        writer.writerow(["file", "label"])
        for index in range(3):
            picked = slice(5 * index, 5 * index + 5)
            image, _ = field(list(images[picked]), gaps=[2, 3, 4, 5])
            image.save(folder / f"f{index}.png")
            writer.writerow([f"f{index}.png", "".join(str(v) for v in labels[picked])])
    return folder


def json_lines(text: str) -> list[dict]:
    return [json.loads(line) for line in text.splitlines()]


def test_classify_json_schema(digit_dir, capsys):
    assert main(["classify", str(digit_dir), "--json", "--threads", "1"]) == 0
    rows = json_lines(capsys.readouterr().out)
    assert len(rows) == 6
    for row in rows:
        assert set(row) == {"path", "digit", "confidence", "kind"}   # "kind" added, none gone
        assert row["kind"] in ("digit", ".", ",", "-", "$", "other")
        assert isinstance(row["path"], str) and row["path"].endswith((".png", ".jpg"))
        assert row["digit"] is None or (isinstance(row["digit"], int) and 0 <= row["digit"] <= 9)
        assert isinstance(row["confidence"], float) and 0 <= row["confidence"] <= 1


def test_read_json_schema(field_dir, capsys):
    assert main(["read", str(field_dir / "f0.png"), str(field_dir / "f1.png"), "--json"]) == 0
    rows = json_lines(capsys.readouterr().out)
    assert [r["path"] for r in rows] == [str(field_dir / "f0.png"), str(field_dir / "f1.png")]
    for row in rows:
        assert {"path", "text", "digits"} <= set(row) and len(row["digits"]) == 5
        assert set(row) - {"path", "text", "digits"} == {
            "confidence", "rejected", "reason", "format", "value", "chars"}
        assert row["text"] == "".join("?" if d["digit"] is None else str(d["digit"])
                                      for d in row["digits"])
        assert 0 <= row["confidence"] <= 1 and row["format"] is None
        threshold = DigitReader().field_min_confidence   # the manifest's field threshold
        assert row["rejected"] == (row["confidence"] < threshold)
        assert (row["reason"] is None) == (not row["rejected"])
        assert [c["kind"] for c in row["chars"]] == ["digit"] * 5
        for char in row["chars"]:
            assert set(char) == {"kind", "value", "confidence", "box"}
        for digit in row["digits"]:
            assert set(digit) == {"digit", "confidence", "box"}
            assert len(digit["box"]) == 4 and all(isinstance(v, int) for v in digit["box"])
            assert digit["box"][0] < digit["box"][2] and digit["box"][1] < digit["box"][3]


def test_reject_in_json_is_null_and_in_text_is_a_question_mark(digit_dir, field_dir, capsys):
    assert main(["classify", str(digit_dir), "--json", "--min-confidence", "1"]) == 0
    rows = json_lines(capsys.readouterr().out)
    assert all(r["digit"] is None for r in rows if r["confidence"] < 1.0)
    assert main(["read", str(field_dir / "f0.png"), "--min-confidence", "1"]) == 0
    assert capsys.readouterr().out.split("\t")[1].strip().count("?") >= 1


def test_plain_output_is_one_tab_separated_line_per_input(digit_dir, capsys):
    assert main(["classify", str(digit_dir / "d1.png")]) == 0
    path, digit, confidence = capsys.readouterr().out.strip().split("\t")
    assert path.endswith("d1.png") and (digit == "?" or digit.isdigit()) and float(confidence)


def test_unreadable_inputs_exit_1_and_are_named_while_others_are_processed(
        digit_dir, tmp_path, capsys):
    (tmp_path / "bad.png").write_text("not an image")
    (tmp_path / "blank.png").write_bytes((digit_dir / "d1.png").read_bytes())
    from PIL import Image
    Image.new("L", (60, 60), 255).save(tmp_path / "blank.png")
    code = main(["classify", str(digit_dir / "d0.jpg"), str(tmp_path / "bad.png"),
                 str(tmp_path / "missing.png"), str(tmp_path / "blank.png"),
                 str(digit_dir / "d1.png"), "--json"])
    captured = capsys.readouterr()
    assert code == 1
    assert [r["path"] for r in json_lines(captured.out)] == [str(digit_dir / "d0.jpg"),
                                                            str(digit_dir / "d1.png")]
    errors = captured.err.strip().splitlines()
    assert len(errors) == 3 and "Traceback" not in captured.err
    assert any("bad.png" in e for e in errors) and any("missing.png" in e for e in errors)
    assert any("blank.png" in e and "blank" in e for e in errors)
    assert main(["read", str(tmp_path / "blank.png"), str(tmp_path / "bad.png")]) == 1


def test_an_empty_folder_exits_1(tmp_path, capsys):
    assert main(["classify", str(tmp_path)]) == 1
    assert "no image files" in capsys.readouterr().err


@pytest.mark.parametrize("argv", [
    [], ["classify"], ["frobnicate", "x"], ["classify", "x.png", "--threads", "0"],
    ["classify", "x.png", "--threads", "two"], ["read", "x.png", "--min-confidence", "1.5"],
    ["classify", "x.png", "--model", "/no/such/model.onnx"], ["bench", "."],
    ["read", "x.png", "--format", "postcode"], ["read", "x.png", "--expected-digits", "0"],
    ["read", "x.png", "--format", "zip", "--expected-digits", "5"],
])
def test_usage_errors_exit_2(argv, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(argv)
    assert exit_info.value.code == 2
    assert "Traceback" not in capsys.readouterr().err


def test_tampered_model_exits_2_with_one_line(tmp_path, digit_dir, capsys):
    shutil.copytree(BUNDLED, tmp_path / "models")
    target = tmp_path / "models" / "digits-int8.onnx"
    target.write_bytes(target.read_bytes()[:-10])
    with pytest.raises(SystemExit) as exit_info:
        main(["classify", str(digit_dir), "--model", str(tmp_path / "models")])
    assert exit_info.value.code == 2
    assert "sha256" in capsys.readouterr().err


def test_bench_on_digits_and_fields(digit_dir, field_dir, capsys):
    assert main(["bench", str(digit_dir), "--labels", str(digit_dir / "labels.csv"),
                 "--repeats", "1"]) == 0
    out = capsys.readouterr().out
    assert "accuracy (no reject)" in out and "rejected" in out and "ms per image" in out
    assert main(["bench", str(field_dir), "--labels", str(field_dir / "labels.csv"),
                 "--repeats", "1", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["mode"] == "fields" and report["count"] == 3
    assert report["segmentation_accuracy"] == 1.0
    assert [row["min_confidence"] for row in report["tradeoff"]] == sorted(
        row["min_confidence"] for row in report["tradeoff"])


def test_bench_with_bad_labels_exits_2(digit_dir, tmp_path, capsys):
    (tmp_path / "labels.csv").write_text("file,label\nmissing.png,3\n")
    with pytest.raises(SystemExit) as exit_info:
        main(["bench", str(digit_dir), "--labels", str(tmp_path / "labels.csv")])
    assert exit_info.value.code == 2 and "missing" in capsys.readouterr().err


@pytest.fixture(scope="module")
def marked_dir(tmp_path_factory, train_digits):
    """Fields with pen-drawn marks and a format column, as edge/bench/make_fields.py writes."""
    from edge_helpers import written

    folder = tmp_path_factory.mktemp("marked")
    rows = [("a.png", "$1,234.56", "amount"), ("b.png", "12345-6789", "zip+4"),
            ("c.png", "60614", "zip"), ("d.png", "12.50", "")]
    with (folder / "labels.csv").open("w", newline="") as stream:
        writer = csv.writer(stream)
        writer.writerow(["file", "label", "format"])
        for index, (name, label, fmt) in enumerate(rows):
            written(label, *train_digits, seed=index).save(folder / name)
            writer.writerow([name, label, fmt])
    return folder


def test_read_with_a_format_in_json(marked_dir, capsys):
    assert main(["read", str(marked_dir / "a.png"), "--format", "amount", "--json",
                 "--min-confidence", "0"]) == 0
    row = json_lines(capsys.readouterr().out)[0]
    assert row["text"] == "$1,234.56" and row["format"] == "amount"
    assert row["value"] == (None if row["rejected"] else "1234.56")
    assert [c["value"] for c in row["chars"]] == list("$1,234.56")
    assert {c["kind"] for c in row["chars"]} == {"mark", "digit"} and len(row["digits"]) == 6


def test_a_rejected_field_says_why_in_plain_output(marked_dir, capsys):
    assert main(["read", str(marked_dir / "a.png"), "--format", "zip"]) == 0
    path, _text, reason = capsys.readouterr().out.rstrip("\n").split("\t")
    assert path.endswith("a.png") and reason.startswith("rejected: read ")


def test_bench_fields_reports_read_rates_and_records_the_threshold(marked_dir, tmp_path, capsys):
    shutil.copytree(BUNDLED, tmp_path / "models")
    assert main(["bench", str(marked_dir), "--labels", str(marked_dir / "labels.csv"),
                 "--repeats", "1", "--json", "--record", "--model",
                 str(tmp_path / "models")]) == 0
    report = json.loads(capsys.readouterr().out)
    assert set(report["by_format"]) == {"amount", "zip+4", "zip", "free"}
    assert set(report["read_rate"]) == {"0.005", "0.01", "0.02"}
    manifest = json.loads((tmp_path / "models" / "manifest.json").read_text())
    assert manifest["field_min_confidence"] == pytest.approx(
        report["read_rate"]["0.01"]["threshold"], abs=1e-6)
    assert manifest["field_min_confidence_basis"]["fields"] == 4
    assert set(manifest["field_min_confidence_by_format"]) <= {"amount", "zip+4", "zip", "free"}
    assert DigitReader(tmp_path / "models").field_min_confidence == \
        manifest["field_min_confidence"]


def test_bench_labels_with_an_unknown_format_exit_2(marked_dir, tmp_path, capsys):
    (tmp_path / "labels.csv").write_text("file,label,format\nc.png,60614,postcode\n")
    with pytest.raises(SystemExit) as exit_info:
        main(["bench", str(marked_dir), "--labels", str(tmp_path / "labels.csv")])
    assert exit_info.value.code == 2 and "postcode" in capsys.readouterr().err
