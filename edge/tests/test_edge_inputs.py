"""Every kind of bad input gets one clear message, and never costs the rest of the batch."""

from __future__ import annotations

import struct
import warnings
import zlib
from pathlib import Path

import numpy as np
import pytest
from edge_helpers import scan
from PIL import Image

from digit_edge import (
    ArrayError,
    BlankImageError,
    ImageSizeError,
    UnreadableImageError,
    normalize,
)


def png_claiming(path: Path, width: int, height: int) -> Path:
    """A tiny PNG whose header claims width x height: the size is judged before decoding."""
    Image.new("L", (1, 1), 255).save(path)
    data = bytearray(path.read_bytes())
    ihdr = 8  # after the signature: length (4), b"IHDR" (4), width, height, ...
    data[ihdr + 8:ihdr + 16] = struct.pack(">II", width, height)
    crc = zlib.crc32(bytes(data[ihdr + 4:ihdr + 8 + 13]))
    data[ihdr + 8 + 13:ihdr + 8 + 17] = struct.pack(">I", crc)
    path.write_bytes(bytes(data))
    return path


def test_missing_file(tmp_path):
    with pytest.raises(UnreadableImageError, match="no such file"):
        normalize(tmp_path / "nope.png")


def test_empty_file(tmp_path):
    (tmp_path / "empty.png").write_bytes(b"")
    with pytest.raises(UnreadableImageError, match="empty file"):
        normalize(tmp_path / "empty.png")


def test_non_image_file(tmp_path):
    (tmp_path / "notes.png").write_text("label,pixel0\n1,0\n")
    with pytest.raises(UnreadableImageError, match="not an image"):
        normalize(tmp_path / "notes.png")


def test_folder_instead_of_file(tmp_path):
    with pytest.raises(UnreadableImageError, match="folder"):
        normalize(tmp_path)


@pytest.mark.parametrize("suffix", [".png", ".jpg"])
def test_truncated_file(tmp_path, train_digits, suffix):
    path = tmp_path / f"cut{suffix}"
    scan(train_digits[0][0], height=200).save(path)
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 3])
    with pytest.raises(UnreadableImageError, match="corrupt or truncated"):
        normalize(path)


def test_blank_image_file(tmp_path):
    Image.new("RGB", (300, 200), (250, 250, 245)).save(tmp_path / "blank.png")
    with pytest.raises(BlankImageError, match=r"blank\.png: blank, no ink"):
        normalize(tmp_path / "blank.png")


@pytest.mark.parametrize(("width", "height"), [(12000, 12000), (20000, 20000)])
def test_absurdly_large_image_is_refused_before_decoding(tmp_path, width, height):
    path = png_claiming(tmp_path / "huge.png", width, height)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # Pillow's own DecompressionBombWarning
        with pytest.raises(ImageSizeError, match="too large"):
            normalize(path)


@pytest.mark.parametrize("size", [(1, 1), (4, 7)])
def test_absurdly_small_image_is_refused(tmp_path, size):
    Image.new("L", size, 0).save(tmp_path / "tiny.png")
    with pytest.raises(ImageSizeError, match="too small"):
        normalize(tmp_path / "tiny.png")


@pytest.mark.parametrize("array", [np.zeros((2, 3, 4, 5)), np.zeros((30, 30, 7))])
def test_image_arrays_of_the_wrong_shape(array):
    with pytest.raises(ArrayError, match="image array must be"):
        normalize(array)


def test_image_formats_and_modes_all_read_alike(tmp_path, train_digits):
    digit = train_digits[0][7]
    reference = normalize(scan(digit))
    gray = scan(digit)
    variants = {
        "rgb.jpg": gray.convert("RGB"), "gray.bmp": gray, "gray.tif": gray,
        "palette.png": gray.convert("P"),
        "deep.png": Image.fromarray(np.asarray(gray).astype(np.uint16) * 257),
    }
    transparent = Image.new("RGBA", gray.size, (0, 0, 0, 0))  # black ink on transparent canvas
    transparent.putalpha(Image.fromarray(255 - np.asarray(gray)))
    variants["alpha.png"] = transparent
    for name, image in variants.items():
        image.save(tmp_path / name)
        out = normalize(tmp_path / name)
        assert np.abs(out - reference).mean() < 0.03, name


def test_one_bad_item_never_loses_the_batch(reader, tmp_path, train_digits):
    good = [scan(d) for d in train_digits[0][:3]]
    (tmp_path / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\nnot really")
    items = [good[0], tmp_path / "broken.png", good[1], Image.new("L", (50, 50), 255), good[2]]
    result = reader.classify(items)
    assert set(result.errors) == {1, 3}
    assert "broken.png" in result.errors[1] and "blank" in result.errors[3]
    assert result.ok.tolist() == [True, False, True, False, True]
    assert np.isnan(result.probabilities[[1, 3]]).all()
    assert np.isfinite(result.probabilities[[0, 2, 4]]).all()
    assert (result.digits[[1, 3]] == -1).all()


def test_a_nan_row_is_reported_alone(reader, train_digits):
    batch = train_digits[0][:4] / 255.0
    batch[2, 5, 5] = np.nan
    result = reader.classify(batch)
    assert list(result.errors) == [2] and "NaN" in result.errors[2]
    assert result.ok.sum() == 3
