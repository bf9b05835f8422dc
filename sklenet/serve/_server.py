"""Running the application with uvicorn: in the foreground, or in a thread.

Both bind their socket first, so that port 0 (a free port, as tests and
benchmarks use) gives a known address before the server starts.

Connections cannot pile up: an idle one is closed after
:data:`IDLE_TIMEOUT` seconds, one whose request has not arrived whole
:data:`REQUEST_TIMEOUT` seconds after its first byte too (a client sending
a byte at a time), and beyond :data:`MAX_CONNECTIONS` open connections a
request gets status 503. Messages a client can cause at will, and asyncio's
report of each failed accept when the process runs out of file
descriptors, are logged once a minute at most.
"""

import asyncio
import contextlib
import logging
import signal
import socket
import threading
import time

from ._app import _starlette

_LOGGER = logging.getLogger(__name__)

#: Seconds a connection may stay idle, before its first request or after an
#: answer, before it is closed (uvicorn's keep-alive timeout).
IDLE_TIMEOUT = 5

#: Seconds a request's head and body may take to arrive, from its first byte.
REQUEST_TIMEOUT = 10

#: Open connections beyond which requests are answered 503 at once (uvicorn's
#: ``limit_concurrency``): browsers open at most 6 to a server, and 64 stay
#: far below the usual limit of 1,024 open files.
MAX_CONNECTIONS = 64

#: The largest request head (request line and headers, bytes); larger ones
#: get status 400 (h11's limit).
MAX_HEAD_BYTES = 16 * 1024

# What asyncio reports, once per waiting connection every second, when
# accept() fails for want of file descriptors or memory.
_ACCEPT_ERROR = "socket.accept() out of system resource"

# Connections the kernel queues before they are accepted.
_BACKLOG = 128


def bind(host, port):
    """A listening TCP socket on ``host:port`` (OSError when it is taken)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
        sock.listen(_BACKLOG)
    except BaseException:
        sock.close()
        raise
    return sock


def _url(sock):
    host, port = sock.getsockname()[:2]
    return f"http://{f'[{host}]' if ':' in host else host}:{port}"


class _Throttle:
    """Lets each message through at most once a minute, counting the rest."""

    def __init__(self, seconds=60):
        self._seconds = seconds
        self._next = {}  # message: when it may be logged again (monotonic)
        self._dropped = {}

    def __call__(self, message):
        """How many times ``message`` was dropped since it was last let
        through, or None to drop it now."""
        now = time.monotonic()
        if now < self._next.get(message, 0):
            self._dropped[message] = self._dropped.get(message, 0) + 1
            return None
        self._next[message] = now + self._seconds
        return self._dropped.pop(message, 0)


class _ThrottledLogger:
    """``logger``, with each warning message at most once a minute."""

    def __init__(self, logger, throttle):
        self._logger = logger
        self._throttle = throttle

    def warning(self, message, *args):
        message = message % args if args else message
        dropped = self._throttle(message)
        if dropped is not None:
            self._logger.warning("%s%s", message, _dropped(dropped))

    def __getattr__(self, name):
        return getattr(self._logger, name)


def _dropped(count):
    return f" ({count:,} more in the last minute)" if count else ""


def _server(app):
    _starlette()
    import h11
    import uvicorn
    from uvicorn.protocols.http.h11_impl import H11Protocol

    throttle = _Throttle()

    class Connection(H11Protocol):
        """uvicorn's HTTP/1.1 connection, with a time limit on each request.

        uvicorn closes a connection idle after an answer, but neither a new
        one that sends nothing nor one whose request trickles in: each
        would hold a file descriptor for good.
        """

        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            # A client sends requests over the connection limit or invalid
            # ones as fast as it likes: uvicorn warns of each.
            self.logger = _ThrottledLogger(self.logger, throttle)
            self._deadline = None
            self._receiving = False  # a request has begun to arrive

        def connection_made(self, transport):
            super().connection_made(transport)
            self._limit(IDLE_TIMEOUT)

        def data_received(self, data):
            if not self._receiving:
                self._receiving = True
                self._limit(REQUEST_TIMEOUT)
            super().data_received(data)

        def on_response_complete(self):
            self._receiving = False
            self._limit(None)  # uvicorn's keep-alive timeout takes over
            super().on_response_complete()

        def connection_lost(self, exc):
            self._limit(None)
            super().connection_lost(exc)

        def _limit(self, seconds):
            if self._deadline is not None:
                self._deadline.cancel()
            self._deadline = (None if seconds is None else
                              self.loop.call_later(seconds, self._expire))

        def _expire(self):
            self._deadline = None
            # A request received whole is being answered, however long that
            # takes; the next one gets its own time.
            if self.conn.their_state is not h11.DONE:
                self.transport.close()

    class Server(uvicorn.Server):
        # uvicorn re-raises a SIGINT or SIGTERM once it has shut down, which
        # would end the process with a traceback or a signal status; a
        # clean shutdown is the end of the command here.
        @contextlib.contextmanager
        def capture_signals(self):
            if threading.current_thread() is not threading.main_thread():
                yield
                return
            handled = (signal.SIGINT, signal.SIGTERM)
            previous = {sig: signal.signal(sig, self.handle_exit) for sig in handled}
            try:
                yield
            finally:
                for sig, handler in previous.items():
                    signal.signal(sig, handler)

        async def startup(self, sockets=None):
            asyncio.get_running_loop().set_exception_handler(_loop_error)
            await super().startup(sockets=sockets)

    def _loop_error(loop, context):
        # Out of file descriptors, asyncio stops accepting for a second and
        # reports it for every connection waiting, each time: hundreds of
        # thousands of lines a minute, each with a traceback.
        if context.get("message") != _ACCEPT_ERROR:
            loop.default_exception_handler(context)
            return
        dropped = throttle(_ACCEPT_ERROR)
        if dropped is not None:
            _LOGGER.warning("cannot accept connections: %s; retrying every "
                            "second%s", context.get("exception"), _dropped(dropped))

    # log_config=None: uvicorn would otherwise configure the process's
    # logging; its warnings and errors reach the root logger as any
    # library's do, and the command line shows its own progress.
    # backlog: bind()'s, which uvicorn would raise to 2,048; asyncio also
    # tries that many accepts per wake-up.
    config = uvicorn.Config(app, log_config=None, access_log=False,
                            lifespan="off", http=Connection,
                            timeout_keep_alive=IDLE_TIMEOUT,
                            limit_concurrency=MAX_CONNECTIONS,
                            h11_max_incomplete_event_size=MAX_HEAD_BYTES,
                            backlog=_BACKLOG)
    return Server(config)


def serve(app, *, host="127.0.0.1", port=8000, on_start=None):
    """Serve ``app`` until SIGINT (Ctrl-C) or SIGTERM, then shut down cleanly.

    Parameters
    ----------
    app : ASGI application
    host : str, default="127.0.0.1"
        Loopback only unless told otherwise.
    port : int, default=8000
        0 picks a free port.
    on_start : callable or None
        Called with the server's URL once the socket listens.

    Returns
    -------
    list of int
        The signals that stopped the server.
    """
    return serve_socket(app, bind(host, port), on_start=on_start)


def serve_socket(app, sock, *, on_start=None):
    """:func:`serve` on a socket bound already (by :func:`bind`), closed
    at the end: the command line binds it before it loads the model, so that
    a taken port is reported at once."""
    server = _server(app)
    with sock:
        if on_start is not None:
            on_start(_url(sock))
        server.run(sockets=[sock])
    return list(server._captured_signals)


@contextlib.contextmanager
def running_server(app, *, host="127.0.0.1", port=0, timeout=30):
    """Serve ``app`` in a thread for the time of the block; yield its URL.

    The server is stopped, and its thread joined, when the block ends, also
    on an error.

    Parameters
    ----------
    app : ASGI application
    host : str, default="127.0.0.1"
    port : int, default=0
        0 picks a free port.
    timeout : float, default=30
        Seconds to wait for the server to start, and to stop.
    """
    sock = bind(host, port)
    server = _server(app)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]},
                              name="sklenet-serve", daemon=True)
    with sock:
        thread.start()
        try:
            for _ in range(int(timeout * 100)):
                if server.started or not thread.is_alive():
                    break
                time.sleep(0.01)
            if not server.started:
                raise RuntimeError("The server did not start.")
            yield _url(sock)
        finally:
            server.should_exit = True
            thread.join(timeout)
