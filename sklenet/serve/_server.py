"""Running the application with uvicorn: in the foreground, or in a thread.

Both bind their socket first, so that port 0 (a free port, as tests and
benchmarks use) gives a known address before the server starts.
"""

import contextlib
import signal
import socket
import threading
import time

from ._app import _starlette


def bind(host, port):
    """A listening TCP socket on ``host:port`` (OSError when it is taken)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
        sock.listen(128)
    except BaseException:
        sock.close()
        raise
    return sock


def _url(sock):
    host, port = sock.getsockname()[:2]
    return f"http://{f'[{host}]' if ':' in host else host}:{port}"


def _server(app):
    _starlette()
    import uvicorn

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

    # log_config=None: uvicorn would otherwise configure the process's
    # logging; its warnings and errors reach the root logger as any
    # library's do, and the command line shows its own progress.
    config = uvicorn.Config(app, log_config=None, access_log=False,
                            lifespan="off")
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
