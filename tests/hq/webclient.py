"""A plain HTTP client for the dashboard of a real HQ: cookies kept by hand (so a `Secure`
cookie is kept over loopback HTTP, as a browser would for a trial), forms posted as a
browser posts them, CSRF tokens read from the page. No browser: where a page's behaviour
in Chromium matters, `test_dashboard_browser.py` drives one."""

from __future__ import annotations

import http.client
import re
import urllib.parse
from dataclasses import dataclass, field

PASSWORD = "correct horse battery staple"


@dataclass
class Answer:
    """One response, read whole."""

    status: int
    headers: http.client.HTTPMessage
    body: bytes

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", "replace")


@dataclass
class WebClient:
    """One person's browser session with HQ."""

    port: int
    cookies: dict[str, str] = field(default_factory=dict)
    set_cookie_lines: list[str] = field(default_factory=list)

    def request(self, method: str, path: str, body: bytes | None = None,
                headers: dict[str, str] | None = None) -> Answer:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=120)
        try:
            sent = dict(headers or {})
            if self.cookies:
                sent["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
            conn.request(method, path, body=body, headers=sent)
            response = conn.getresponse()
            answer = Answer(response.status, response.msg, response.read())
        finally:
            conn.close()
        for line in answer.headers.get_all("set-cookie") or []:
            self.set_cookie_lines.append(line)
            name, _, rest = line.partition("=")
            value = rest.split(";")[0].strip('"')
            if "max-age=0" in line.lower() or value == "":
                self.cookies.pop(name, None)
            else:
                self.cookies[name] = value
        return answer

    def get(self, path: str, headers: dict[str, str] | None = None) -> Answer:
        return self.request("GET", path, headers=headers)

    def post(self, path: str, fields: dict[str, str] | list[tuple[str, str]],
             headers: dict[str, str] | None = None) -> Answer:
        body = urllib.parse.urlencode(fields).encode()
        return self.request("POST", path, body, {
            "Content-Type": "application/x-www-form-urlencoded", **(headers or {})})

    def csrf(self, path: str = "/") -> str:
        """The CSRF token of the form on `path`."""
        page = self.get(path)
        found = re.search(r'name="csrf" value="([^"]+)"', page.text)
        assert found, (page.status, page.text[:500])
        return found[1]

    def sign_in(self, name: str, password: str = PASSWORD) -> Answer:
        token = self.csrf("/login")
        answer = self.post("/login", {"csrf": token, "name": name, "password": password,
                                      "next": "/"})
        return answer

    def submit(self, path: str, fields: dict[str, str]) -> Answer:
        """Post a form on the page at `path` (a candidate page posts to path + /review)."""
        return self.post(path, {"csrf": self.csrf("/"), **fields})


def signed_in(port: int, name: str) -> WebClient:
    client = WebClient(port)
    answer = client.sign_in(name)
    assert answer.status == 303 and answer.headers["location"] == "/", answer.text[:300]
    return client
