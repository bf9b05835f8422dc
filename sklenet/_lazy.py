"""Public names imported on first use (PEP 562), for sklenet's packages.

``sklenet``, ``sklenet.model_selection`` and ``sklenet.serve`` each export
names whose modules import TensorFlow, Keras, Optuna or Starlette; importing
them only when a name is first looked up keeps ``import sklenet`` and the
command line's ``--help`` fast.
"""

import importlib
import sys


def lazy_exports(package, exports, computed=None):
    """``(__getattr__, __dir__)`` for ``package``'s ``__init__``.

    Parameters
    ----------
    package : str
        The package's ``__name__``.
    exports : dict of str to str
        Public name -> the module that defines it, relative to ``package``. A
        name whose module is ``package.name`` itself is that submodule.
    computed : dict of str to callable, default=None
        Further names whose value a function without arguments gives.

    The first look-up of a name imports its module and stores the value in
    the package, so that later look-ups skip ``__getattr__``.
    """
    computed = computed or {}

    def __getattr__(name):
        if name in computed:
            value = computed[name]()
        elif name in exports:
            module = importlib.import_module(exports[name], package)
            value = (module if module.__name__ == f"{package}.{name}"
                     else getattr(module, name))
        else:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        setattr(sys.modules[package], name, value)
        return value

    def __dir__():
        return sorted({*vars(sys.modules[package]), *exports, *computed})

    return __getattr__, __dir__
