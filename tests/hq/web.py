"""The dashboard over plain HTTP (no browser): sign in as a user, fetch pages, post forms."""

from __future__ import annotations

import http.client
import re
import urllib.parse
from dataclasses import dataclass, field

_CSRF = re.compile(r'name="csrf" value="([^"]+)"')


@dataclass
class Page:
    """One answer from the dashboard."""

    status: int
    headers: dict[str, str]
    body: bytes

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", "replace")


@dataclass
class Dashboard:
    """One signed-in browser's worth of cookies, against HQ on loopback."""

    port: int
    cookies: dict[str, str] = field(default_factory=dict)
    csrf: str = ""

    def request(self, method: str, path: str, body: bytes = b"",
                headers: dict[str, str] | None = None) -> Page:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=120)
        try:
            cookie = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
            conn.request(method, path, body=body, headers={
                **({"Cookie": cookie} if cookie else {}), **(headers or {})})
            answer = conn.getresponse()
            page = Page(answer.status, {k.lower(): v for k, v in answer.getheaders()},
                        answer.read())
            for name, value in answer.getheaders():
                if name.lower() == "set-cookie":
                    key, _, rest = value.partition("=")
                    self.cookies[key] = rest.split(";", 1)[0].strip('"')
            return page
        finally:
            conn.close()

    def get(self, path: str) -> Page:
        page = self.request("GET", path)
        found = _CSRF.search(page.text)
        if found and page.status == 200:
            self.csrf = found[1]
        return page

    def post(self, path: str, form: dict[str, str]) -> Page:
        return self.request("POST", path, urllib.parse.urlencode(
            {"csrf": self.csrf, **form}).encode(),
            {"Content-Type": "application/x-www-form-urlencoded"})

    def sign_in(self, name: str, password: str) -> Dashboard:
        login = self.get("/login")
        token = _CSRF.search(login.text)
        assert token, login.text[:300]
        answer = self.request("POST", "/login", urllib.parse.urlencode(
            {"csrf": token[1], "next": "/", "name": name, "password": password}).encode(),
            {"Content-Type": "application/x-www-form-urlencoded"})
        assert answer.status == 303 and answer.headers.get("location") == "/", answer
        self.get("/")  # the session's CSRF token, for forms
        return self
