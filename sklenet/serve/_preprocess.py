"""A drawing to an MNIST input, the way MNIST itself was made.

LeCun, Cortes and Burges made MNIST from NIST's black-and-white digits: each
digit was scaled, keeping its aspect ratio, to fit a 20x20 box (the
anti-aliasing of the scaling gives the grey levels), then placed in a 28x28
field so that its centre of mass lies at the field's centre. A network
trained on MNIST expects exactly that; a raw drawing, thin and off-centre,
gets wrong answers. The server, the page's preview and the tests all use
:func:`mnist_preprocess`, so that what the page shows is what the model sees.
"""

import contextlib
import io
import struct

import numpy as np

#: Side of the box the digit is scaled to fit, and of the field around it.
BOX_SIDE = 20
FIELD_SIDE = 28

#: The most pixels a PNG :func:`png_ink` decodes may have (2048x2048: a
#: canvas, even a high-resolution one, not a photo). Decoding and
#: preprocessing cost about 0.1 s and 25 MB of memory per million pixels, so
#: the limit is checked in the file's header, before anything is decoded.
MAX_PNG_PIXELS = 2048 * 2048

_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def mnist_preprocess(image):
    """Turn a drawing into a 28x28 MNIST-style image.

    The ink's bounding box is scaled, keeping its aspect ratio, so that its
    longer side is 20 pixels (bilinear, anti-aliased: grey levels at the
    edges), and placed in a 28x28 field so that its centre of mass (ink
    weighted by its intensity) lies at the field's centre (14, 14), to the
    nearest pixel, as far as the field allows; MNIST's digits have theirs
    there. These are the steps that made MNIST from NIST's digits.

    Parameters
    ----------
    image : array-like of shape (height, width)
        Ink intensity, 0 for the background: integers from 0 to 255, or
        floats from 0 to 1 (or bools). Any size: a 280x280 canvas, a 28x28
        digit.

    Returns
    -------
    ndarray of shape (28, 28), dtype uint8
        Grey levels from 0 (background) to 255 (ink), as in MNIST and
        :func:`sklenet.datasets.load_sample_digits`; ``.ravel()`` gives the
        784 pixels of a row.

    Raises
    ------
    ValueError
        For an image that is not 2-D, has values out of range or not finite,
        or holds no ink at all.

    Examples
    --------
    A thin vertical stroke at the left of a large canvas becomes a 20-pixel
    tall, centred digit "1":

    >>> import numpy as np
    >>> canvas = np.zeros((200, 200))
    >>> canvas[20:120, 10:14] = 1.0
    >>> digit = mnist_preprocess(canvas)
    >>> digit.shape, digit.dtype, int(digit.max())
    ((28, 28), dtype('uint8'), 255)
    >>> rows = np.flatnonzero(digit.any(axis=1))
    >>> int(rows[0]), int(rows[-1])
    (4, 23)
    """
    ink = _ink(image)
    rows = np.flatnonzero(ink.any(axis=1))
    cols = np.flatnonzero(ink.any(axis=0))
    if rows.size == 0:
        raise ValueError("The image holds no ink: every pixel is background (0).")
    crop = ink[rows[0]:rows[-1] + 1, cols[0]:cols[-1] + 1]
    digit = _scale_to_box(crop)
    field = np.zeros((FIELD_SIDE, FIELD_SIDE))
    height, width = digit.shape
    top, left = (
        int(np.clip(np.rint(FIELD_SIDE / 2 - centre), 0, FIELD_SIDE - side))
        for centre, side in zip(_centre_of_mass(digit), (height, width))
    )
    field[top:top + height, left:left + width] = digit
    return np.rint(np.clip(field, 0, 1) * 255).astype(np.uint8)


def _ink(image):
    """``image`` as float64 ink in [0, 1], or a ValueError naming the problem."""
    array = np.asarray(image)
    if array.ndim != 2:
        raise ValueError(f"The image must be 2-D (height, width), got shape "
                         f"{array.shape}.")
    if array.dtype == bool:
        return array.astype(np.float64)
    if not (np.issubdtype(array.dtype, np.integer)
            or np.issubdtype(array.dtype, np.floating)):
        raise ValueError(f"The image must hold numbers, got dtype {array.dtype}.")
    integer = np.issubdtype(array.dtype, np.integer)
    high = 255 if integer else 1.0
    if array.size and not np.isfinite(array).all():
        raise ValueError("The image holds NaN or infinite values.")
    if array.size and (array.min() < 0 or array.max() > high):
        raise ValueError(
            f"The image's values must be from 0 to {high} "
            f"({'integer grey levels' if integer else 'float ink'}), got "
            f"{array.min()} to {array.max()}.")
    # No copy of float64 ink (a large drawing's is tens of megabytes): it is
    # only read from here on.
    return array / 255.0 if integer else array.astype(np.float64, copy=False)


def _scale_to_box(crop):
    """``crop`` scaled so that its longer side is :data:`BOX_SIDE`."""
    from PIL import Image

    height, width = crop.shape
    scale = BOX_SIDE / max(height, width)
    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    # Pillow's resize widens its filter when it shrinks: anti-aliased.
    scaled = Image.fromarray(crop.astype(np.float32), mode="F").resize(
        size, Image.Resampling.BILINEAR)
    return np.asarray(scaled, dtype=np.float64)


def _centre_of_mass(image):
    """(row, column) of the intensity-weighted centre of ``image``."""
    total = image.sum()
    if not total > 0:  # all ink scaled away: the box's centre
        return (np.array(image.shape) - 1) / 2
    rows, cols = np.indices(image.shape)
    return (rows * image).sum() / total, (cols * image).sum() / total


def _png_size(data):
    """``(width, height)`` of a PNG from its header (its first 24 bytes), or
    a ValueError when ``data`` does not begin as a PNG file does."""
    if data[:8] != _PNG_SIGNATURE or data[12:16] != b"IHDR" or len(data) < 24:
        raise ValueError(
            f"The data is not a PNG image: it begins with {bytes(data[:16])!r}, "
            "not with PNG's signature and header.")
    width, height = struct.unpack(">II", data[16:24])
    return width, height


def _check_pixels(width, height, max_pixels):
    if width * height > max_pixels:
        raise ValueError(
            f"The PNG image is {width}x{height} pixels ({width * height:,}); "
            f"at most {max_pixels:,} are decoded.")


def png_ink(data, *, max_pixels=MAX_PNG_PIXELS):
    """The ink of a PNG drawing, as floats in [0, 1] for :func:`mnist_preprocess`.

    Every kind of PNG keeps its grey levels: 16-bit grey at full precision,
    1-bit, palette and colour ones through their grey (luma). Transparent
    pixels are paper: alpha composites the image onto white, as the drawing
    page's canvas starts white (so a transparent PNG with dark strokes reads
    as the page's own drawings do). A light background (the median of the
    border pixels above mid-grey: dark ink on white paper, as the page draws)
    is then inverted so that ink is high, as in MNIST; a dark one is kept.

    Parameters
    ----------
    data : bytes
        A PNG file's bytes.
    max_pixels : int, default=MAX_PNG_PIXELS
        Larger images are refused from their header, before any decoding
        (a small file can hold a huge image: a 4096x4096 one compresses to
        2 kB), and again from what the decoder reads.

    Returns
    -------
    ndarray of shape (height, width), dtype float64

    Raises
    ------
    ValueError
        When ``data`` is not a readable PNG image or has more than
        ``max_pixels`` pixels.

    Examples
    --------
    >>> import io
    >>> from PIL import Image
    >>> buffer = io.BytesIO()
    >>> Image.new("L", (3, 2), color=255).save(buffer, format="PNG")
    >>> png_ink(buffer.getvalue()).tolist()
    [[0.0, 0.0, 0.0], [0.0, 0.0, 0.0]]
    """
    from PIL import Image

    _check_pixels(*_png_size(data), max_pixels)
    with _damaged_png():
        png = Image.open(io.BytesIO(data), formats=["PNG"])
    with png:
        # The decoder's size, in case a crafted file's first header lies.
        _check_pixels(*png.size, max_pixels)
        with _damaged_png():
            grey = _paper_grey(png)
    border = np.concatenate([grey[0], grey[-1], grey[:, 0], grey[:, -1]])
    if np.median(border) > 0.5:
        np.subtract(1, grey, out=grey)
    return grey


@contextlib.contextmanager
def _damaged_png():
    """Pillow's errors on a damaged PNG, as one-line ValueErrors."""
    from PIL import Image, UnidentifiedImageError

    try:
        yield
    except UnidentifiedImageError:
        # Its message quotes the buffer object ("<_io.BytesIO object at ...>").
        raise ValueError("The data is not a readable PNG image: Pillow cannot "
                         "read its header.") from None
    except (OSError, SyntaxError, EOFError, ValueError, struct.error,
            Image.DecompressionBombError) as exc:
        raise ValueError(f"The data is not a readable PNG image ({exc}).") from None


def _paper_grey(png):
    """A PNG's grey levels in [0, 1] (1 is white), transparency as white paper."""
    from PIL import Image

    if png.mode == "I;16":
        # 16-bit grey: Pillow's conversions to 8-bit modes clip it to black
        # and white, so it is scaled here.
        levels = np.asarray(png)
        grey = levels / 65535.0
        if "transparency" in png.info:  # one grey level marked transparent
            grey[levels == png.info["transparency"]] = 1.0
        return grey
    if png.mode in ("1", "L") and "transparency" not in png.info:
        return np.asarray(png.convert("L"), dtype=np.float64) / 255
    white = Image.new("RGBA", png.size, (255, 255, 255, 255))
    paper = Image.alpha_composite(white, png.convert("RGBA")).convert("L")
    return np.asarray(paper, dtype=np.float64) / 255
