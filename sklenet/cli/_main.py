"""The ``sklenet`` parser, its commands and the signals of a running command."""

import _thread
import argparse
import contextlib
import os
import signal
import sys
import threading
import time

from .._logging import command_output
from . import evaluate, export, predict, report, reproduce, serve, train, tune
from ._common import UsageError

#: Each command is a module with HELP, DESCRIPTION, add_arguments(parser) and
#: run(args) -> exit status; its name is the module's.
COMMANDS = (reproduce, report, train, evaluate, predict, tune, export, serve)


def _name(command):
    return command.__name__.rsplit(".", 1)[-1]


class _Parser(argparse.ArgumentParser):
    def error(self, message):
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


class _Version(argparse.Action):
    """``--version``: read from the package metadata only when asked."""

    def __init__(self, option_strings, dest=argparse.SUPPRESS, help=None):
        super().__init__(option_strings, dest, nargs=0, default=argparse.SUPPRESS,
                         help=help)

    def __call__(self, parser, namespace, values, option_string=None):
        from .. import __version__

        print(f"sklenet {__version__}")
        parser.exit()


def _output_options(default):
    """--quiet / --verbose, accepted before and after the command name."""
    options = argparse.ArgumentParser(add_help=False)
    group = options.add_mutually_exclusive_group()
    group.add_argument("-q", "--quiet", action="store_true", default=default,
                       help="show only results, warnings and errors")
    group.add_argument("-v", "--verbose", action="store_true", default=default,
                       help="also show TensorFlow's logs (hidden otherwise)")
    return options


def parser():
    """The ``sklenet`` argument parser with every command."""
    main_parser = _Parser(
        prog="sklenet", parents=[_output_options(False)],
        description="The LeNet digit-recognition study as scikit-learn "
        "estimators: " + ", ".join(_name(command) for command in COMMANDS)
        + ". Results go to stdout, progress to stderr.",
        epilog="Run 'sklenet COMMAND --help' for the options of a command.",
    )
    main_parser.add_argument("--version", action=_Version,
                             help="print sklenet's version and exit")
    commands = main_parser.add_subparsers(title="commands", dest="name",
                                          metavar="COMMAND")
    # SUPPRESS: an option given before the command name is not reset by it.
    common = [_output_options(argparse.SUPPRESS)]
    for command in COMMANDS:
        sub = commands.add_parser(_name(command), parents=common, help=command.HELP,
                                  description=command.DESCRIPTION)
        command.add_arguments(sub)
        sub.set_defaults(command=command)
    return main_parser


class _Interrupts:
    """SIGINT (Ctrl-C) and SIGTERM (``kill``, a scheduler, a container stop)
    handling for the time of a command.

    The first signal raises KeyboardInterrupt, as Python's own SIGINT handler
    does, and silences ``sys.stderr``: TensorFlow turns a KeyboardInterrupt
    raised inside its tracing into other exceptions and prints tracebacks of
    its own, and none of that is for the user. Any exception that follows
    counts as the interruption. A second signal exits at once.

    Code may drop the KeyboardInterrupt: Keras' tracing has bare ``except:``
    clauses and Python drops an exception raised in a finaliser (seen in CI:
    a Ctrl-C during a fit that trained on and saved its model). So until the
    command has caught the interruption, it is delivered again every
    ``AGAIN_S`` seconds, raised where the main thread handles no exception
    (an exception being handled is on its way: cleanup runs undisturbed).
    """

    AGAIN_S = 1.0

    SIGNALS = (signal.SIGINT, signal.SIGTERM)

    def __init__(self, stderr):
        self.stderr = stderr
        self.signal = None
        self._sink = None
        self._again = self._redeliver = False
        self._lock = threading.Lock()

    def caught(self):
        """The command has the interruption: stop delivering it again."""
        self._redeliver = False

    def _deliver_again(self):
        while True:
            time.sleep(self.AGAIN_S)
            with self._lock:
                if not self._redeliver:
                    return
                self._again = True
                _thread.interrupt_main(self.signal)  # runs __call__ below

    @property
    def status(self):
        """The exit status of the signal received: 128 + its number."""
        return 128 + self.signal

    def __call__(self, signum, frame):
        if self._again:  # delivered again by _deliver_again
            self._again = False
            if self._redeliver and sys.exc_info()[1] is None:
                raise KeyboardInterrupt
            return
        if self.signal is not None:
            self.stderr.write("sklenet: interrupted twice, exiting.\n")
            self.stderr.flush()
            os._exit(self.status)
        self.signal = signum
        self._sink = sys.stderr = open(os.devnull, "w")  # closed by installed()
        threading.Thread(target=self._deliver_again, daemon=True).start()
        raise KeyboardInterrupt

    @contextlib.contextmanager
    def installed(self):
        if threading.current_thread() is not threading.main_thread():
            yield self  # signal handlers can only be set in the main thread
            return
        previous = {number: signal.signal(number, self) for number in self.SIGNALS}
        self._redeliver = True  # until caught()
        try:
            yield self
        finally:
            self.caught()
            with self._lock:  # no delivery under way when the handlers go
                pass
            for number, handler in previous.items():
                signal.signal(number, handler)
            sys.stderr = self.stderr
            if self._sink is not None:
                self._sink.close()


def _stop_workers():
    """Stop joblib's worker processes (loky keeps them for the next call):
    after an interruption nothing is left running."""
    loky = sys.modules.get("joblib.externals.loky.reusable_executor")
    executor = getattr(loky, "_executor", None)
    if executor is not None:
        with contextlib.suppress(Exception):
            executor.shutdown(wait=True, kill_workers=True)


def main(argv=None):
    """Run the ``sklenet`` command line; return its exit status."""
    name, command = "sklenet", None
    stderr = sys.stderr
    with _Interrupts(stderr).installed() as interrupts:
        try:
            main_parser = parser()
            arguments = main_parser.parse_args(argv)
            if arguments.name is None:
                main_parser.print_help(stderr)
                return 2
            name, command = f"sklenet {arguments.name}", arguments.command
            with command_output(-1 if arguments.quiet else
                                1 if arguments.verbose else 0):
                return command.run(arguments)
        except BaseException as exc:
            interrupts.caught()
            if not (interrupts.signal or isinstance(exc, KeyboardInterrupt)):
                if not isinstance(exc, UsageError):
                    raise
                print(f"{name}: error: {exc}", file=stderr)
                return 1
        _stop_workers()
        hint = getattr(command, "INTERRUPTED", None)
        what = "terminated" if interrupts.signal == signal.SIGTERM else "interrupted"
        print(f"{name}: {what}.{' ' + hint if hint else ''}", file=stderr)
        status = interrupts.status if interrupts.signal else 128 + signal.SIGINT
    if argv is None:  # the program itself, not a call from Python
        # TensorFlow's threads may still run ops of the interrupted training,
        # and Python's teardown under them can crash (SIGSEGV, seen after a
        # SIGTERM at load 8): the outputs are complete, so exit at once.
        for stream in (sys.stdout, stderr):
            with contextlib.suppress(Exception):
                stream.flush()
        os._exit(status)
    return status
