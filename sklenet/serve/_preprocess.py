"""A drawing to an MNIST input, the way MNIST itself was made.

LeCun, Cortes and Burges made MNIST from NIST's black-and-white digits: each
digit was scaled, keeping its aspect ratio, to fit a 20x20 box (the
anti-aliasing of the scaling gives the grey levels), then placed in a 28x28
field so that its centre of mass lies at the field's centre. A network
trained on MNIST expects exactly that; a raw drawing, thin and off-centre,
gets wrong answers. The server, the page's preview and the tests all use
:func:`mnist_preprocess`, so that what the page shows is what the model sees.
"""

import io

import numpy as np

#: Side of the box the digit is scaled to fit, and of the field around it.
BOX_SIDE = 20
FIELD_SIDE = 28

#: The largest PNG side :func:`png_ink` accepts (a canvas, not a photo).
MAX_PNG_SIDE = 4096


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
    return array.astype(np.float64) / (255.0 if integer else 1.0)


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


def png_ink(data):
    """The ink of a PNG drawing, as floats in [0, 1] for :func:`mnist_preprocess`.

    Transparent pixels count as white. The image is made grey; a light
    background (the median of its border pixels above mid-grey: dark ink on
    white paper, as the page draws) is inverted so that ink is high, as in
    MNIST; a dark background is kept.

    Parameters
    ----------
    data : bytes
        A PNG file's bytes, at most 4096 pixels a side.

    Returns
    -------
    ndarray of shape (height, width), dtype float64

    Raises
    ------
    ValueError
        When ``data`` is not a readable PNG image or is too large.

    Examples
    --------
    >>> import io
    >>> from PIL import Image
    >>> buffer = io.BytesIO()
    >>> Image.new("L", (3, 2), color=255).save(buffer, format="PNG")
    >>> png_ink(buffer.getvalue()).tolist()
    [[0.0, 0.0, 0.0], [0.0, 0.0, 0.0]]
    """
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(io.BytesIO(data), formats=["PNG"]) as png:
            if max(png.size) > MAX_PNG_SIDE:
                raise ValueError(f"The PNG image is {png.size[0]}x{png.size[1]} "
                                 f"pixels; at most {MAX_PNG_SIDE} a side.")
            rgba = png.convert("RGBA")
    except (UnidentifiedImageError, OSError, SyntaxError) as exc:
        raise ValueError(f"The data is not a readable PNG image ({exc}).") from None
    white = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
    grey = np.asarray(Image.alpha_composite(white, rgba).convert("L"),
                      dtype=np.float64) / 255
    border = np.concatenate([grey[0], grey[-1], grey[:, 0], grey[:, -1]])
    return 1 - grey if np.median(border) > 0.5 else grey
