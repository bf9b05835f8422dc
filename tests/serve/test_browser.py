"""The drawing page of ``sklenet serve`` in a real browser: Playwright driving
Debian's Chromium (``/usr/bin/chromium``, no browser download).

Without Playwright or Chromium the tests are skipped locally and fail under
CI (the CI environment variable is set; ``.ci/run`` installs Chromium).

The strokes drawn are rows of ink of real sample digits, at 10 canvas pixels
a digit pixel; the digits are those that the test's model classifies right
(with probability above 0.9) once drawn that way, as the Python simulation
of the drawing below shows, so that the asserted top class holds.
"""

import base64
import os
import shutil

import numpy as np
import pytest

from sklenet.serve import (
    Predictor,
    create_app,
    mnist_preprocess,
    png_ink,
    running_server,
)

CHROMIUM = "/usr/bin/chromium"
SCALE = 10  # canvas pixels per digit pixel: a digit spans the 280-pixel pad


def _browser_or_skip():
    problem = None
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        problem = "Playwright is not installed (pip install playwright)"
    if problem is None and shutil.which(CHROMIUM) is None:
        problem = f"{CHROMIUM} is missing (apt-get install chromium)"
    if problem is not None:
        if os.environ.get("CI"):
            pytest.fail(f"{problem}: CI must run the browser tests.")
        pytest.skip(problem)


@pytest.fixture(scope="module")
def url(fitted):
    predictor = Predictor(fitted[0], name="browser test model", test_accuracy=0.93)
    with running_server(create_app(predictor)) as url:
        yield url


@pytest.fixture(scope="module")
def browser():
    _browser_or_skip()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM)
        yield browser
        browser.close()


@pytest.fixture
def page(browser, url):
    context = browser.new_context(viewport={"width": 1100, "height": 600},
                                  has_touch=True)
    page = context.new_page()
    page.goto(url)
    page.wait_for_selector("body[data-ready=true]")
    page.eval_on_selector("#pen-width", f"input => input.value = {SCALE}")
    yield page
    context.close()


def _runs(digit):
    """The strokes of a digit: (row, first column, last column) of each run of
    ink (grey level above 127) in its rows."""
    image = np.asarray(digit).reshape(28, 28) > 127
    for row in range(28):
        on = np.flatnonzero(image[row])
        for run in np.split(on, np.flatnonzero(np.diff(on) > 1) + 1) if on.size else ():
            yield row, int(run[0]), int(run[-1])


def _simulated_drawing(digit):
    """What drawing :func:`_runs` on the pad gives, near enough: the ink
    SCALE times larger."""
    ink = np.zeros((28, 28))
    for row, first, last in _runs(digit):
        ink[row, first:last + 1] = 1
    return np.kron(ink, np.ones((SCALE, SCALE)))


@pytest.fixture(scope="module")
def drawable(fitted):
    """One held-out digit of each class that the model recognises when drawn."""
    clf, X_test, y_test = fitted
    chosen = {}
    for digit, label in zip(X_test, y_test):
        if label in chosen:
            continue
        proba = clf.predict_proba(
            mnist_preprocess(_simulated_drawing(digit)).reshape(1, -1))[0]
        if clf.classes_[proba.argmax()] == label and proba.max() > 0.9:
            chosen[label] = digit
    missing = set(range(10)) - set(chosen)
    assert not missing, f"no drawable digit of classes {missing}"
    return chosen


def _draw_with_mouse(page, digit):
    box = page.locator("#pad").bounding_box()
    for row, first, last in _runs(digit):
        y = box["y"] + (row + 0.5) * SCALE
        page.mouse.move(box["x"] + (first + 0.5) * SCALE, y)
        page.mouse.down()
        page.mouse.move(box["x"] + (last + 0.5) * SCALE, y, steps=2)
        page.mouse.up()


def _draw_with_touch(page, digit):
    """Real touch input through the DevTools protocol (Chromium turns it into
    pointer events of type "touch")."""
    session = page.context.new_cdp_session(page)
    box = page.locator("#pad").bounding_box()
    for row, first, last in _runs(digit):
        y = box["y"] + (row + 0.5) * SCALE
        for kind, column in (("touchStart", first), ("touchMove", (first + last) / 2),
                             ("touchMove", last)):
            session.send("Input.dispatchTouchEvent", {"type": kind, "touchPoints": [
                {"x": box["x"] + (column + 0.5) * SCALE, "y": y}]})
        session.send("Input.dispatchTouchEvent", {"type": "touchEnd",
                                                  "touchPoints": []})


def _settled(page):
    """Wait until the page shows the answer to its last request."""
    page.wait_for_function("document.body.dataset.pending === '0' && "
                           "document.body.dataset.answered !== '0'", timeout=30_000)


def _probabilities(page):
    return [float(value) for value in page.eval_on_selector_all(
        "#bars li", "items => items.map(item => item.dataset.probability)")]


@pytest.mark.parametrize("label", range(10))
def test_a_drawn_digit_is_recognised(page, drawable, label):
    _draw_with_mouse(page, drawable[label])
    _settled(page)
    assert page.text_content("#top-class") == str(label)
    probabilities = _probabilities(page)
    assert len(probabilities) == 10 and abs(sum(probabilities) - 1) < 1e-3
    assert int(np.argmax(probabilities)) == label
    assert page.text_content("#message") == ""


def test_a_digit_drawn_by_touch_is_recognised(page, drawable):
    _draw_with_touch(page, drawable[3])
    _settled(page)
    assert page.text_content("#top-class") == "3"


def test_the_page_shows_the_model(page):
    info = page.text_content("#model-info")
    assert "browser test model (LeNetClassifier, onnxruntime)" in info
    assert "classes 0, 1, 2, 3, 4, 5, 6, 7, 8, 9; test accuracy 0.9300" in info


def _grey_pixels(page, selector):
    """The red channel of a canvas (the page draws in greys)."""
    return np.array(page.eval_on_selector(selector, """canvas => Array.from(
        canvas.getContext("2d").getImageData(0, 0, canvas.width, canvas.height)
            .data.filter((_, i) => i % 4 === 0))"""), dtype=np.uint8)


def test_the_preview_is_what_the_model_sees(page, drawable):
    _draw_with_mouse(page, drawable[5])
    _settled(page)
    drawn = page.eval_on_selector("#pad", "pad => pad.toDataURL('image/png')")
    png = base64.b64decode(drawn.split(",", 1)[1])
    seen = mnist_preprocess(png_ink(png)).ravel()
    assert np.array_equal(_grey_pixels(page, "#preview"), seen)
    # ... and it is the digit, redrawn: close to the sample's pixels
    assert np.corrcoef(seen, drawable[5])[0, 1] > 0.7


def test_clear_empties_the_pad_the_preview_and_the_bars(page, drawable):
    _draw_with_mouse(page, drawable[7])
    _settled(page)
    assert page.text_content("#top-class") == "7"
    page.click("#clear")
    assert page.text_content("#top-class") == "\u2013"
    assert _probabilities(page) == [0.0] * 10
    assert (_grey_pixels(page, "#pad") == 255).all()  # white paper
    assert (_grey_pixels(page, "#preview") == 0).all()  # MNIST's black
    _draw_with_mouse(page, drawable[1])  # and it draws again
    _settled(page)
    assert page.text_content("#top-class") == "1"
