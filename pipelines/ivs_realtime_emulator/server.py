"""The loopback HTTP server and the ``Emulator`` handle used by tests, demos and benchmarks."""

from __future__ import annotations

import contextlib
import itertools
import os
import socket
import sys
import threading
import time
from collections.abc import Mapping
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any

from ivs_realtime_emulator.faults import Faults
from ivs_realtime_emulator.protocol import Reply
from ivs_realtime_emulator.scenario import Scenario
from ivs_realtime_emulator.scenario_file import open_scenario
from ivs_realtime_emulator.service import Service
from ivs_realtime_emulator.stats import RequestRecord, Stats

_REASONS = {
    200: "OK",
    400: "Bad Request",
    403: "Forbidden",
    404: "Not Found",
    429: "Too Many Requests",
    500: "Internal Server Error",
    503: "Service Unavailable",
}
_IDLE_TIMEOUT = 120.0


class _Handler(BaseHTTPRequestHandler):
    """Reads one request at a time over a keep-alive connection and writes the reply at once."""

    protocol_version = "HTTP/1.1"
    timeout = _IDLE_TIMEOUT
    server: _Server

    def do_POST(self) -> None:
        """Serve a POST request."""
        self._serve("POST")

    def do_GET(self) -> None:
        """Serve a GET request."""
        self._serve("GET")

    def _serve(self, method: str) -> None:
        """Read the body, ask the service, write the reply."""
        try:
            length = int(self.headers.get("Content-Length") or 0)
        except ValueError:
            self.close_connection = True
            self._write(Reply(400, b'{"message":"Bad Content-Length"}'))
            return
        body = self.rfile.read(length) if length > 0 else b""
        reply = self.server.service.handle(method, self.path, self.headers, body)
        if reply.delay:
            time.sleep(reply.delay)
        if reply.drop:
            self.close_connection = True
            return
        self._write(reply)

    def _write(self, reply: Reply) -> None:
        """Write status line, headers and body in a single send."""
        lines = [
            f"HTTP/1.1 {reply.status} {_REASONS.get(reply.status, 'Error')}",
            "Content-Type: application/json",
            f"Content-Length: {len(reply.body)}",
            f"x-amzn-RequestId: {self.server.next_request_id()}",
        ]
        if reply.error_type:
            lines.append(f"x-amzn-ErrorType: {reply.error_type}")
        if self.close_connection:
            lines.append("Connection: close")
        head = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")
        try:
            self.wfile.write(head + reply.body)
        except OSError:
            self.close_connection = True

    def log_message(self, format: str, *args: Any) -> None:
        """Stay quiet: the emulator never logs requests (they carry credentials)."""


class _Server(ThreadingHTTPServer):
    """A threading HTTP server that can close its open keep-alive connections on stop."""

    daemon_threads = True
    request_queue_size = 1024
    allow_reuse_address = True

    def __init__(self, address: tuple[str, int], service: Service) -> None:
        super().__init__(address, _Handler)
        self.service = service
        self._connections: set[socket.socket] = set()
        self._lock = threading.Lock()
        self._ids = itertools.count(1)
        self._id_prefix = os.urandom(4).hex()

    def handle_error(self, request: Any, client_address: Any) -> None:
        """Ignore clients that hung up (a killed run); report anything else."""
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)

    def next_request_id(self) -> str:
        """Return a unique request id."""
        return f"{self._id_prefix}-{next(self._ids):012d}"

    def process_request(self, request: Any, client_address: Any) -> None:
        """Track the connection, then serve it on its own thread."""
        request.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        with self._lock:
            self._connections.add(request)
        super().process_request(request, client_address)

    def shutdown_request(self, request: Any) -> None:
        """Forget a connection as it closes."""
        with self._lock:
            self._connections.discard(request)
        super().shutdown_request(request)

    def close_connections(self) -> None:
        """Shut down every open connection so no handler keeps serving after stop."""
        with self._lock:
            connections = list(self._connections)
        for conn in connections:
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)


class Emulator:
    """A local IVS Real-Time endpoint for one scenario, served from a background thread."""

    def __init__(
        self,
        scenario: Scenario,
        host: str = "127.0.0.1",
        port: int = 0,
        faults: Faults | None = None,
        *,
        token_key: bytes | None = None,
    ) -> None:
        self.scenario = scenario
        self.service = Service(scenario, faults, token_key)
        self._host, self._port = host, port
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    # ---- lifecycle -----------------------------------------------------------------------

    def start(self) -> Emulator:
        """Bind the port and serve in a background thread."""
        if self._server is not None:
            return self
        self._server = _Server((self._host, self._port), self.service)
        self._port = self._server.server_address[1]
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.01},
            name=f"ivs-emulator-{self._port}",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and close every connection."""
        server, self._server = self._server, None
        if server is None:
            return
        server.shutdown()
        server.close_connections()
        server.server_close()
        if self._thread is not None:
            self._thread.join()

    def __enter__(self) -> Emulator:
        """Start on entering a ``with`` block."""
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        """Stop on leaving a ``with`` block."""
        self.stop()

    # ---- state ---------------------------------------------------------------------------

    @property
    def url(self) -> str:
        """The endpoint URL to pass as ``endpoint_url`` (the server must be started)."""
        if self._server is None:
            raise RuntimeError("the emulator is not running; call start() first")
        return f"http://{self._host}:{self._port}"

    @property
    def port(self) -> int:
        """The bound port (0 before start when an ephemeral port was requested)."""
        return self._port

    @property
    def epoch(self) -> int:
        """The current epoch."""
        return self.service.epoch

    def advance(self, steps: int = 1) -> int:
        """Move to a later epoch and return it."""
        return self.service.advance(steps)

    @property
    def stats(self) -> Stats:
        """Live, thread-safe counters."""
        return self.service.stats

    @property
    def requests(self) -> list[RequestRecord]:
        """The API requests received so far: ``(operation, region, params)`` tuples."""
        return self.service.stats.requests

    def reset_stats(self) -> None:
        """Clear counters and the request log."""
        self.service.stats.reset()

    @property
    def faults(self) -> Faults:
        """The faults in force."""
        return self.service.faults

    def set_faults(self, faults: Faults) -> None:
        """Replace the faults at runtime (quotas and first-N counters start afresh)."""
        self.service.set_faults(faults)

    def expected_replicas(self, epoch: int | None = None) -> list[dict[str, str]]:
        """Return the scenario's replica rows for an epoch (default: the current one)."""
        return self.scenario.expected_replicas(self.epoch if epoch is None else epoch)


def serve(
    scenario: Scenario | str,
    host: str = "127.0.0.1",
    port: int = 0,
    faults_overrides: Mapping[str, Any] | None = None,
) -> None:
    """Serve a scenario in the foreground until interrupted; prints one line with the URL.

    A string is a ``--scenario`` value: a bundled name such as ``demo``, or a file path.
    """
    if isinstance(scenario, str):
        scenario = open_scenario(scenario)
    faults = scenario.faults.with_overrides(faults_overrides or {})
    emulator = Emulator(scenario, host=host, port=port, faults=faults).start()
    try:
        # Inside the try: a Ctrl-C right after the ready line still stops cleanly.
        print(f"IVS Real-Time emulator ({scenario.name}) listening on {emulator.url}", flush=True)
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        pass
    finally:
        emulator.stop()
