"""`sklenet export`: a graph with its metadata, the formats of
`sklenet.export`, a missing extra in one line."""

import importlib
import json
import os

import pytest

from sklenet.cli import main
from sklenet.cli.export import FORMATS as EXPORT_FORMATS

from .helpers import one_error_line


def test_export_formats_are_those_of_sklenet_export():
    assert EXPORT_FORMATS == importlib.import_module("sklenet._export").FORMATS


def test_export_writes_a_graph_and_prints_its_metadata(lenet_file, tmp_path,
                                                      capsys):
    pytest.importorskip("tf2onnx")
    onnx = pytest.importorskip("onnx")
    out = tmp_path / "lenet.onnx"
    assert main(["export", "--model", str(lenet_file), "--out", str(out)]) == 0
    captured = capsys.readouterr()
    assert json.loads(captured.out)["classes"] == list(range(10))
    assert captured.err == f"onnx written to {out}\n"
    labels = {p.key: p.value for p in onnx.load(out).metadata_props}["classes"]
    assert json.loads(labels) == list(range(10))


def test_export_without_its_extra_is_one_line(lenet_file, tmp_path, monkeypatch,
                                              capsys):
    def missing(*args, **kwargs):
        raise ImportError("Exporting to onnx needs the 'tf2onnx' package: pip "
                          'install "sklenet[export]"')

    monkeypatch.setattr(importlib.import_module("sklenet._export"), "export",
                        missing)
    assert main(["export", "--model", str(lenet_file), "--out",
                 str(tmp_path / "m.onnx")]) == 1
    one_error_line(capsys,
                    r'needs the .tf2onnx. package: pip install "sklenet\[export\]"')
    assert os.listdir(tmp_path) == []
