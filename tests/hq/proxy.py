"""A TCP proxy that lets a request reach HQ but loses HQ's answer (the worst moment to fail)."""

from __future__ import annotations

import contextlib
import socket
import threading
from types import TracebackType

from tests.hq.conftest import free_port


class DroppingProxy:
    """Forwards to 127.0.0.1:`upstream`; for the first `drop_first` record uploads (PUT),
    HQ gets the whole request but the kiosk's connection is cut before any answer."""

    def __init__(self, upstream: int, drop_first: int = 1) -> None:
        self.upstream = upstream
        self.remaining = drop_first
        self.port = free_port()
        self._server = socket.create_server(("127.0.0.1", self.port))
        self._lock = threading.Lock()
        self._stop = threading.Event()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> DroppingProxy:
        threading.Thread(target=self._accept, daemon=True).start()
        return self

    def __exit__(self, *_exc: object | TracebackType | None) -> None:
        self._stop.set()
        self._server.close()

    def _accept(self) -> None:
        while not self._stop.is_set():
            try:
                client, _ = self._server.accept()
            except OSError:
                return
            upstream = socket.create_connection(("127.0.0.1", self.upstream))
            state = {"drop": False}
            threading.Thread(target=self._requests, args=(client, upstream, state),
                             daemon=True).start()
            threading.Thread(target=self._answers, args=(upstream, client, state),
                             daemon=True).start()

    def _requests(self, client: socket.socket, upstream: socket.socket,
                  state: dict[str, bool]) -> None:
        with contextlib.suppress(OSError):
            while data := client.recv(65536):
                if data.startswith(b"PUT /v1/items"):
                    with self._lock:
                        if self.remaining > 0:
                            self.remaining -= 1
                            state["drop"] = True
                upstream.sendall(data)

    @staticmethod
    def _answers(upstream: socket.socket, client: socket.socket,
                 state: dict[str, bool]) -> None:
        with contextlib.suppress(OSError):
            while data := upstream.recv(65536):
                if state["drop"]:
                    break  # HQ answered (so it stored it); the kiosk never hears
                client.sendall(data)
        for sock in (client, upstream):
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            sock.close()
