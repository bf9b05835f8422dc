"""``sklenet._lazy.lazy_exports``, the first-use imports of sklenet's
packages, on a package of its own made for the test."""

import sys
import types

import pytest


@pytest.fixture
def package(tmp_path, monkeypatch):
    """A package ``lazypkg`` exporting ``VALUE`` from ``_heavy``, its
    submodule ``tools`` and a computed ``__version__``."""
    root = tmp_path / "lazypkg"
    root.mkdir()
    (root / "__init__.py").write_text(
        "from sklenet._lazy import lazy_exports\n"
        "_EXPORTS = {'VALUE': '._heavy', 'tools': '.tools'}\n"
        "calls = []\n"
        "def _version():\n"
        "    calls.append('version')\n"
        "    return '1.2'\n"
        "__getattr__, __dir__ = lazy_exports(\n"
        "    __name__, _EXPORTS, computed={'__version__': _version})\n")
    (root / "_heavy.py").write_text("VALUE = object()\n")
    (root / "tools.py").write_text("")
    monkeypatch.syspath_prepend(str(tmp_path))
    yield __import__("lazypkg")
    for name in [name for name in sys.modules if name.startswith("lazypkg")]:
        del sys.modules[name]


def test_a_name_is_imported_on_first_use_and_kept(package):
    assert "lazypkg._heavy" not in sys.modules
    value = package.VALUE
    assert value is sys.modules["lazypkg._heavy"].VALUE
    # Stored in the package: the next look-up does not reach __getattr__.
    assert vars(package)["VALUE"] is value


def test_a_submodule_export_is_the_module(package):
    assert isinstance(package.tools, types.ModuleType)
    assert package.tools.__name__ == "lazypkg.tools"


def test_a_computed_name_is_computed_once(package):
    assert package.__version__ == "1.2"
    assert package.__version__ == "1.2"
    assert package.calls == ["version"]


def test_dir_lists_the_names_before_their_import(package):
    assert {"VALUE", "tools", "__version__"} <= set(dir(package))
    assert "lazypkg._heavy" not in sys.modules


def test_an_unknown_name_is_an_attribute_error(package):
    with pytest.raises(AttributeError,
                       match="module 'lazypkg' has no attribute 'nonesuch'"):
        _ = package.nonesuch
    # hasattr, which optional-feature probes use, sees False.
    assert not hasattr(package, "nonesuch")

