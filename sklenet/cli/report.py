"""``sklenet report``: the report of a finished run, drawn again from its folder."""

import logging
import os

from ._common import UsageError
from .reproduce import print_tables

HELP = "draw the report of a finished run again from its folder"
DESCRIPTION = (
    "Draw OUT/report.html, OUT/report.md, their figures and the raw results "
    "(OUT/results) again from the folder OUT of a finished 'sklenet reproduce' "
    "alone: nothing is trained, and neither the data nor the search's storage "
    "is needed, so a copy of the folder moved anywhere gives the same report "
    "and tables. Prints the accuracy and claims tables, as reproduce does.")
_LOGGER = logging.getLogger(__name__)


def add_arguments(parser):
    parser.add_argument("out", metavar="OUT",
                        help="the run folder (the --out of sklenet reproduce)")


def run(args):
    from .._io import InUseError
    from ..study import RunFolder, write_report

    try:
        tables = write_report(args.out)
    except InUseError as exc:
        raise UsageError(f"{exc}: wait for that run to end.") from exc
    except ValueError as exc:
        raise UsageError(str(exc)) from exc
    except OSError as exc:  # a full disk, a read-only folder
        if exc.errno is None:
            raise
        where = "" if exc.filename is None else f" ({os.fsdecode(exc.filename)})"
        raise UsageError(f"{args.out}{where}: {exc.strerror or exc}.") from exc
    print_tables(tables["accuracy"], tables["claims"])
    folder = RunFolder(args.out)
    _LOGGER.info("report: %s (and %s); raw results in %s/", folder.report_html,
                 folder.report_md.name, folder.results)
    return 0
