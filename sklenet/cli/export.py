"""``sklenet export``: a saved model as an inference graph."""

import json
import logging
from pathlib import Path

from ._common import UsageError, add_model, load_model

HELP = "export a saved model for inference runtimes"
DESCRIPTION = (
    "Write a saved model as one inference graph that takes flat rows of raw "
    "pixels and returns class probabilities, for onnxruntime (onnx), LiteRT "
    "(tflite) or TensorFlow Serving (saved_model); see sklenet.export. Needs the "
    "export extra: pip install 'sklenet[export]'. Prints the metadata written "
    "with the graph.")
#: What `sklenet export --format` offers: sklenet._export.FORMATS (not imported
#: here: it imports Keras; a test holds the two equal).
FORMATS = ("onnx", "tflite", "saved_model")
_LOGGER = logging.getLogger(__name__)


def add_arguments(parser):
    add_model(parser)
    parser.add_argument("--format", choices=FORMATS, default="onnx",
                        help="the graph's format (default: onnx)")
    parser.add_argument("--out", required=True, metavar="PATH",
                        help="the file to write (a folder for saved_model); "
                        "tflite and saved_model also write PATH.json with the "
                        "class labels")


def run(args):
    out = Path(args.out)
    if not out.parent.is_dir():
        raise UsageError(f"the folder of {out} does not exist.")
    if args.format != "saved_model" and out.is_dir():
        raise UsageError(f"--out {out} is a folder; give a file name.")
    model = load_model(args.model)
    try:
        from .._export import export

        metadata = export(model, out, format=args.format)
    except (ImportError, ValueError, TypeError, OSError) as exc:
        # ImportError: the [export] extra is missing, and the message says so.
        raise UsageError(str(exc)) from exc
    print(json.dumps(metadata, indent=1))
    sidecar = "" if args.format == "onnx" else f" (labels in {out}.json)"
    _LOGGER.info("%s written to %s%s", args.format, out, sidecar)
    return 0
