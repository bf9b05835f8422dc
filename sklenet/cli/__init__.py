"""The ``sklenet`` command line (also ``python -m sklenet``).

Commands
--------
``sklenet reproduce``
    The whole study (standard LeNet, Optuna search, optimised LeNet,
    ensemble, learning and convergence curves) with a report in
    ``--out``; every step is cached there, so an interrupted run continues.
``sklenet train``
    Train one model on the 70/30 deployment split and save it.
``sklenet evaluate``
    Accuracy and per-class ROC AUC of a saved model on labelled data.
``sklenet predict``
    A Kaggle submission (``ImageId,Label``) from a saved model.
``sklenet tune``
    Optuna trials of the study's search, in a storage that several workers
    can share.
``sklenet export``
    A saved model as an ONNX, LiteRT or SavedModel inference graph.
``sklenet serve``
    A local web server for a saved model: a page to draw digits on and a
    JSON endpoint (``sklenet.serve``; Ctrl-C stops it with exit status 0).

``--data`` is ``sample`` (the offline 5,000-digit MNIST sample), a Kaggle
Digit Recognizer CSV file or a folder of MNIST-format IDX files.

Results (tables, JSON) go to stdout, progress to stderr (``--quiet`` keeps
only warnings, ``--verbose`` adds TensorFlow's own logs, hidden otherwise).
Mistakes in the command line or the data end the command with one line on
stderr and exit status 1 (2 for unknown options), before anything is
written; Ctrl-C ends it with one line and exit status 130.

One module per command (``sklenet.cli.reproduce``, ...), its arguments beside
its code; :func:`main` is the entry point. The modules import TensorFlow,
Keras, Optuna, NumPy and pandas only inside the commands that need them, so
that ``--help`` answers at once. SIGTERM ends a command as Ctrl-C does, with
exit status 143.
"""

from ._main import main

__all__ = ["main"]
