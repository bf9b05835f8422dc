"""scikeras' ``KerasClassifier`` with its scikit-learn incompatibilities fixed.

scikeras 0.13 is no longer maintained. Against scikit-learn >= 1.6 it

* only declares tags through the removed ``_more_tags`` mechanism, so sklearn
  sees no ``__sklearn_tags__`` of its own (no classifier tags, sparse allowed);
* inherits ``BaseEstimator`` before ``ClassifierMixin``, so the mixin's tags and
  ``score`` are shadowed;
* reports a feature-count mismatch as a shape error instead of sklearn's
  "X has N features, but ... is expecting M features as input.";
* converts sparse input to a LIL matrix that TensorFlow then chokes on;
* maps every ``np.random.RandomState`` to seed 0 (``randint(low=1)``);
* squeezes ``predict_proba`` of a single sample to shape ``(n_classes,)``;
* seeds through ``tensorflow_random_state``, which sets ``TF_DETERMINISTIC_OPS``
  while TensorFlow may read it for the first time: op determinism then stays
  on for the whole process and every later unseeded Keras fit of the user
  fails ("Random ops require a seed ...").

:class:`KerasClassifier` below fixes each of these and is the base of the
sklenet estimators; ``tests/test_base.py`` guards every fix.
"""

import contextlib
import random

import numpy as np
import scipy.sparse as sp
from scikeras.wrappers import KerasClassifier as _ScikerasClassifier
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import validate_data

_SEED_BOUND = np.iinfo(np.int32).max


def derive_seed(random_state):
    """An int seed for Keras from sklearn's ``random_state`` convention.

    An int is used as it is; a ``RandomState`` draws a seed from its stream
    (so distinct generators give distinct seeds, and a generator shared by
    several estimators gives each its own); None draws fresh OS entropy
    without touching NumPy's global generator.
    """
    if random_state is None:
        return int(np.random.default_rng().integers(_SEED_BOUND))
    if isinstance(random_state, (int, np.integer)) and not isinstance(
        random_state, bool
    ):
        return int(random_state)
    if isinstance(random_state, np.random.RandomState):
        return int(random_state.randint(_SEED_BOUND))
    raise ValueError(
        f"random_state={random_state!r} must be None, an int or a "
        "numpy.random.RandomState instance."
    )


def spawn_seeds(random_state, n):
    """``n`` distinct int seeds, children of ``random_state``'s SeedSequence.

    Child ``i`` depends on ``random_state`` and ``i`` only, so more seeds
    extend fewer with the same ``random_state`` (a larger ensemble extends a
    smaller one, more repeats extend fewer).

    Examples
    --------
    >>> spawn_seeds(0, 3)[:2] == spawn_seeds(0, 2)
    True
    """
    root = np.random.SeedSequence(derive_seed(random_state))
    return [int(child.generate_state(1)[0]) for child in root.spawn(n)]


@contextlib.contextmanager
def seeded(seed):
    """Seed Python, NumPy and TensorFlow with ``seed`` and turn TensorFlow's op
    determinism on, for the duration of the block only.

    Afterwards Python's and NumPy's global random states, TensorFlow's global
    seed and op determinism are as they were. ``TF_DETERMINISTIC_OPS`` is
    never touched: TensorFlow reads it once, at its first determinism query,
    so setting it even briefly could switch determinism on for the rest of
    the process (scikeras' ``tensorflow_random_state`` does this).
    """
    import tensorflow as tf
    from tensorflow.python.eager import context
    from tensorflow.python.framework import config

    python_state = random.getstate()
    numpy_state = np.random.get_state()
    tf_seed = context.global_seed()
    was_deterministic = config.is_op_determinism_enabled()
    try:
        random.seed(seed)
        np.random.seed(seed)
        tf.random.set_seed(seed)
        config.enable_op_determinism()
        yield
    finally:
        random.setstate(python_state)
        np.random.set_state(numpy_state)
        tf.random.set_seed(tf_seed)
        if not was_deterministic:
            config.disable_op_determinism()


@contextlib.contextmanager
def release_trace_memory():
    """Free what TensorFlow keeps alive after tracing a ``model.fit``.

    Without this, every ``fit`` of a new Keras 3 model on the TensorFlow
    backend leaks about 10 MB (keras-team/keras#17458): Keras' optimizer step
    calls ``tf.distribute``'s ``all_reduce``, a ``tf.custom_gradient`` that
    registers a ``CustomGradient-N`` entry in TensorFlow's process-global
    gradient registry and never removes it; its closure holds the traced
    train-step graph. The entry is only needed while the gradient is traced,
    so the entries added during the block are dropped afterwards, and the
    eager kernel cache (one instantiated kernel per traced function) is
    cleared. Measured on 50 consecutive fits: 10 MB -> 0.03 MB per fit, at no
    measurable cost in time.

    Both are private TensorFlow APIs: if they move, this does nothing. Do not
    trace other TensorFlow functions in another thread while a fit runs.
    """
    try:
        from tensorflow.python.framework import ops

        registry = ops.gradient_registry._registry
        before = set(registry)
    except (ImportError, AttributeError):  # pragma: no cover - TF moved it
        registry = None
    try:
        yield
    finally:
        if registry is not None:
            for key in set(registry) - before:
                if key.startswith("CustomGradient-"):
                    registry.pop(key, None)
        try:
            from tensorflow.python.eager import context

            context.context().clear_kernel_cache()
        except (ImportError, AttributeError):  # pragma: no cover
            pass


class _ClassifierFirstMRO(type(_ScikerasClassifier)):
    """Metaclass that puts ``ClassifierMixin`` before ``BaseEstimator``.

    scikeras declares ``KerasClassifier(BaseWrapper, ClassifierMixin)``; C3
    linearisation then forbids any subclass from listing the mixin first. A
    metaclass ``mro`` is Python's hook for exactly this: the mixin is moved in
    front of ``BaseEstimator`` so that its ``__sklearn_tags__`` and ``score``
    take effect, as in every sklearn classifier.
    """

    def mro(cls):
        order = super().mro()
        if ClassifierMixin in order and BaseEstimator in order:
            order.remove(ClassifierMixin)
            order.insert(order.index(BaseEstimator), ClassifierMixin)
        return order


class KerasClassifier(_ScikerasClassifier, metaclass=_ClassifierFirstMRO):
    """scikeras ``KerasClassifier`` that passes scikit-learn's estimator checks.

    Subclasses describe their input through :meth:`_check_X_shape` hooks and
    build their network in ``_keras_build_fn`` as with scikeras.
    """

    # scikeras' own repr is a tab-separated dump; use sklearn's.
    __repr__ = BaseEstimator.__repr__

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = False
        tags.input_tags.allow_nan = False
        tags.target_tags.required = True
        tags.classifier_tags.multi_class = True
        tags.classifier_tags.multi_label = False
        return tags

    @contextlib.contextmanager
    def _training_context(self):
        """Seed Python, NumPy and TensorFlow with ``self._random_state`` (their
        global states are restored afterwards) and release TensorFlow's
        per-fit trace memory (:func:`release_trace_memory`)."""
        with seeded(self._random_state), release_trace_memory():
            yield

    def _build_keras_model(self):
        """scikeras' model building, seeded by :func:`seeded` instead of
        scikeras' ``tensorflow_random_state`` (see the module docstring)."""
        random_state, self._random_state = self._random_state, None
        try:
            with (seeded(random_state) if random_state is not None
                  else contextlib.nullcontext()):
                return super()._build_keras_model()
        finally:
            self._random_state = random_state

    def _validate_data(self, X=None, y=None, reset=False, y_numeric=False):
        """sklearn's ``validate_data`` with a clear refusal of sparse input.

        Returns X as a 2-D numeric array (images are flattened by
        :meth:`_flatten_images`) and y as a 1-D array of class labels.
        """
        if X is not None:
            if sp.issparse(X):
                raise TypeError(
                    f"{type(self).__name__} does not accept sparse input "
                    f"(got {type(X).__name__}): convolutions need dense "
                    "images. Convert it with X.toarray()."
                )
            X = self._flatten_images(X, reset=reset)
        common = {"dtype": "numeric", "ensure_min_samples": 1}
        if X is not None and y is not None:
            X, y = validate_data(self, X, y, reset=reset, **common)
        elif X is not None:
            X = validate_data(self, X, reset=reset, **common)
        if X is not None:
            self._check_pixels(X, reset=reset)
        if y is not None:
            check_classification_targets(y)
        return X, y

    def predict_proba(self, X, **kwargs):
        """Class probabilities, of shape ``(n_samples, n_classes)``.

        Routed ``predict__`` parameters apply; ``**kwargs`` go to Keras'
        ``Model.predict``.
        """
        proba = super().predict_proba(X, **kwargs)
        return proba.reshape(-1, self.n_classes_)

    def _flatten_images(self, X, reset):
        """Hook: turn image-shaped X into (n_samples, n_features)."""
        return X

    def _check_pixels(self, X, reset):
        """Hook: check the values of validated X (2-D, numeric)."""
