"""Turn a path, PIL image or array into one bounded grey image: float32 (H, W), 0 black, 1 white.

Why bounded: a 600 dpi page scan is tens of megapixels, and the model sees 28x28. Images are shrunk
while decoding (JPEG draft mode) and right after it (area averaging), so memory and time stay
small whatever comes in. Sizes are checked from the header before any pixel is decoded.
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from .errors import ArrayError, ImageSizeError, UnreadableImageError

MAX_PIXELS = 120_000_000  # refuse to decode more than this (a 600 dpi A3 page is ~70 Mpx)
MIN_SIDE = 8              # an image whose larger side is under 8 px cannot hold a readable digit

ImageLike = str | os.PathLike | Image.Image | np.ndarray


def describe(item: ImageLike) -> str:
    """How to name an input in a message: its path, or its kind."""
    if isinstance(item, str | os.PathLike):
        return str(item)
    if isinstance(item, np.ndarray):
        return f"array {item.shape} {item.dtype}"
    return f"PIL image {item.size} {item.mode}"


def open_image(path: str | os.PathLike) -> Image.Image:
    """Open an image file lazily (header only), with one clear error for every way it can fail."""
    path = Path(path)
    if not path.exists():
        raise UnreadableImageError(f"{path}: no such file")
    if path.is_dir():
        raise UnreadableImageError(f"{path}: is a folder, not an image")
    if path.stat().st_size == 0:
        raise UnreadableImageError(f"{path}: empty file")
    try:
        image = Image.open(path)
    except UnidentifiedImageError:
        raise UnreadableImageError(f"{path}: not an image file Pillow can read") from None
    except Image.DecompressionBombError as exc:
        raise ImageSizeError(f"{path}: image too large to decode safely ({exc})") from None
    except OSError as exc:
        raise UnreadableImageError(f"{path}: cannot read ({exc})") from None
    return image


def load_gray(item: ImageLike, max_side: int,
              max_pixels: int | None = None) -> tuple[np.ndarray, float]:
    """(grey float32 (H, W) in 0..1, scale), shrunk so H, W <= max_side and H*W <= max_pixels.

    scale is original width / returned width: multiply coordinates by it to map them back.

    Accepts a path, a PIL image (any mode; alpha is flattened onto a contrasting background), or
    an array (H, W) / (H, W, 3|4) of uint8 0-255, or of floats 0-1.
    """
    name = describe(item)
    if isinstance(item, np.ndarray):
        gray = _array_to_gray(item, name)
        shrunk = shrink(gray, max_side, max_pixels)
        return shrunk, gray.shape[1] / shrunk.shape[1]
    image = open_image(item) if isinstance(item, str | os.PathLike) else item
    width, height = image.size
    if width * height > MAX_PIXELS:
        raise ImageSizeError(f"{name}: {width}x{height} px is too large (limit "
                             f"{MAX_PIXELS // 1_000_000} Mpx); crop or downscale the scan first")
    if max(width, height) < MIN_SIDE:
        raise ImageSizeError(f"{name}: {width}x{height} px is too small to hold a digit "
                             f"(need at least {MIN_SIDE} px on the larger side)")
    try:
        if image.format == "JPEG":  # decode at 1/2..1/8 scale directly: far less memory and time
            image.draft("L", _target_size(width, height, 2 * max_side, max_pixels))
        if getattr(image, "n_frames", 1) > 1:
            image.seek(0)  # animated GIF / multi-page TIFF: the first frame
        if image.getexif().get(0x0112, 1) in (5, 6, 7, 8):  # EXIF says: rotated by 90 degrees
            width, height = height, width
        image = ImageOps.exif_transpose(image)
        image.load()
    except (OSError, SyntaxError, ValueError) as exc:
        raise UnreadableImageError(f"{name}: corrupt or truncated image ({exc})") from None
    image = _reduce(image, max_side, max_pixels)
    gray = shrink(_image_to_gray(image), max_side, max_pixels)
    return gray, width / gray.shape[1]


def _reduce(image: Image.Image, max_side: int, max_pixels: int | None) -> Image.Image:
    """Shrink by an integer factor in Pillow's own pixel format, before any float copy is made."""
    if image.mode == "P":
        image = image.convert("RGBA" if "transparency" in image.info else "RGB")
    elif image.mode not in ("L", "LA", "RGB", "RGBA", "I", "I;16", "F"):
        image = image.convert("RGB")
    target = _target_size(*image.size, max_side, max_pixels)
    factor = image.size[0] // max(target[0], 1)
    if factor >= 2:
        with contextlib.suppress(ValueError):  # a mode reduce() lacks: the float path copes
            image = image.reduce(factor)
    return image


def _target_size(width: int, height: int, max_side: int, max_pixels: int | None) -> tuple[int, int]:
    scale = min(1.0, max_side / max(width, height))
    if max_pixels:
        scale = min(scale, (max_pixels / (width * height)) ** 0.5)
    return max(1, round(width * scale)), max(1, round(height * scale))


def shrink(gray: np.ndarray, max_side: int, max_pixels: int | None = None) -> np.ndarray:
    """Area-average a grey image down to fit max_side (and max_pixels); never enlarges."""
    height, width = gray.shape
    size = _target_size(width, height, max_side, max_pixels)
    if size == (width, height):
        return gray
    # BOX = area averaging: the anti-aliasing a scanner's sensor does, and the fastest filter.
    return np.asarray(Image.fromarray(gray, "F").resize(size, Image.BOX), dtype=np.float32)


def _image_to_gray(image: Image.Image) -> np.ndarray:
    if image.mode in ("RGBA", "LA", "PA") or (image.mode == "P" and "transparency" in image.info):
        image = _flatten_alpha(image.convert("RGBA"))
    if image.mode in ("I", "I;16", "I;16B", "I;16L", "I;16N", "F"):
        values = np.asarray(image, dtype=np.float32)
        top = 1.0 if image.mode == "F" and values.max() <= 1.0 else (
            255.0 if values.max() <= 255 else 65535.0)
        return np.clip(values / top, 0.0, 1.0)
    if image.mode != "L":
        image = image.convert("L")
    return np.asarray(image, dtype=np.float32) / 255.0


def _flatten_alpha(rgba: Image.Image) -> Image.Image:
    """Put a transparent image on a background that contrasts with its visible pixels.

    Ink drawn on a transparent canvas is common (tablets, web canvases); flattening it onto a
    fixed colour would make black-on-transparent or white-on-transparent ink vanish.
    """
    pixels = np.asarray(rgba, dtype=np.float32) / 255.0
    alpha = pixels[..., 3]
    luma = pixels[..., :3] @ np.array([0.299, 0.587, 0.114], dtype=np.float32)
    visible = alpha > 0.5
    background = 1.0 if (not visible.any() or luma[visible].mean() < 0.5) else 0.0
    gray = luma * alpha + background * (1.0 - alpha)
    return Image.fromarray(gray.astype(np.float32), "F")


def _array_to_gray(array: np.ndarray, name: str) -> np.ndarray:
    if array.ndim == 3 and array.shape[2] in (1, 3, 4):
        array = array[..., :3].mean(axis=2) if array.shape[2] >= 3 else array[..., 0]
    if array.ndim != 2:
        raise ArrayError(f"{name}: an image array must be (H, W) or (H, W, 1|3|4)")
    if max(array.shape) < MIN_SIDE:
        raise ImageSizeError(f"{name}: too small to hold a digit (need at least {MIN_SIDE} px)")
    if array.size > MAX_PIXELS:
        raise ImageSizeError(f"{name}: too large (limit {MAX_PIXELS // 1_000_000} Mpx)")
    return to_unit_range(array, name)


def to_unit_range(array: np.ndarray, name: str) -> np.ndarray:
    """float32 copy in 0..1 of a uint8 0-255 / integer 0-255 / float 0-1 array, or ArrayError."""
    if array.dtype == np.uint8:
        return array.astype(np.float32) / 255.0
    if array.dtype.kind in "iu":
        if array.size and (array.min() < 0 or array.max() > 255):
            raise ArrayError(f"{name}: integer pixels must be 0-255, "
                             f"got {array.min()}..{array.max()}")
        return array.astype(np.float32) / 255.0
    if array.dtype.kind == "f":
        values = array.astype(np.float32)
        finite = np.isfinite(values)
        if not finite.all():
            raise ArrayError(f"{name}: contains NaN or infinite pixels")
        if values.size and (values.min() < -1e-3 or values.max() > 1.0 + 1e-3):
            raise ArrayError(f"{name}: float pixels must be 0-1, got {values.min():g}.."
                             f"{values.max():g} (divide 0-255 data by 255, or pass uint8)")
        return np.clip(values, 0.0, 1.0)
    raise ArrayError(f"{name}: dtype {array.dtype} is not a pixel type (use uint8 0-255 or "
                     "float 0-1)")
