"""A man in the middle between a kiosk and HQ, over plain HTTP: it reads every request and
answer whole and may change, replace or answer them itself (what no TLS allows)."""

from __future__ import annotations

import http.client
import http.server
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from types import TracebackType

from tests.hq.conftest import free_port


@dataclass
class Exchange:
    """One request as it passes (the hooks may change any part of it)."""

    method: str
    path: str
    headers: dict[str, str]
    body: bytes
    repeated: list[tuple[str, str]] = field(default_factory=list)  # sent once more each


@dataclass
class Answer:
    """One answer as it passes back."""

    status: int
    headers: dict[str, str]
    body: bytes


RequestHook = Callable[[Exchange], Answer | None]   # an Answer: HQ never sees the request
AnswerHook = Callable[[Exchange, Answer], Answer]


@dataclass
class Mitm:
    """Forwards to 127.0.0.1:`upstream`, through `on_request` and `on_answer`."""

    upstream: int
    on_request: RequestHook | None = None
    on_answer: AnswerHook | None = None
    seen: list[tuple[Exchange, Answer]] = field(default_factory=list)
    port: int = field(default_factory=free_port)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> Mitm:
        mitm = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def _relay(self) -> None:
                length = int(self.headers.get("Content-Length", "0"))
                exchange = Exchange(self.command, self.path,
                                    {k: v for k, v in self.headers.items()
                                     if k.lower() not in ("host", "connection")},
                                    self.rfile.read(length))
                answer = mitm.on_request(exchange) if mitm.on_request else None
                if answer is None:
                    answer = mitm._forward(exchange)
                if mitm.on_answer is not None:
                    answer = mitm.on_answer(exchange, answer)
                mitm.seen.append((exchange, answer))
                self.send_response(answer.status)
                for name, value in answer.headers.items():
                    if name.lower() not in ("content-length", "transfer-encoding",
                                            "connection", "date", "server"):
                        self.send_header(name, value)
                self.send_header("Content-Length", str(len(answer.body)))
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(answer.body)

            do_GET = do_PUT = do_POST = do_PATCH = do_HEAD = do_OPTIONS = _relay  # noqa: N815

            def log_message(self, *_args: object) -> None:
                pass

        self._server = http.server.ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *_exc: object | TracebackType | None) -> None:
        self._server.shutdown()
        self._server.server_close()

    def _forward(self, exchange: Exchange) -> Answer:
        conn = http.client.HTTPConnection("127.0.0.1", self.upstream, timeout=60)
        try:
            conn.putrequest(exchange.method, exchange.path, skip_accept_encoding=True)
            headers = {**exchange.headers, "Content-Length": str(len(exchange.body))}
            for name, value in [*headers.items(), *exchange.repeated]:
                conn.putheader(name, value)
            conn.endheaders(exchange.body)
            response = conn.getresponse()
            return Answer(response.status, dict(response.getheaders()), response.read())
        finally:
            conn.close()
