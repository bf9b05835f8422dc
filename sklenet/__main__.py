"""``python -m sklenet``: the command line (see :mod:`sklenet.cli`)."""

from .cli import main

raise SystemExit(main())
