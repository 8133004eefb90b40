"""The recruiter dashboard: server-rendered pages (Jinja2) over HQ's review data.

Sign-in sets an HttpOnly, SameSite=Strict session cookie (Secure unless HQ is reached over
plain HTTP on loopback, as in development). Every form carries the session's CSRF token;
sign-in carries a double-submit token of its own. Sign-in attempts are rate-limited per
address. Pages send a strict Content-Security-Policy: no inline script, nothing from
elsewhere. Recordings are decrypted on the fly and served with byte ranges, so the player
can seek.
"""

from __future__ import annotations

import hmac
import json
import secrets
import urllib.parse
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from fastapi import APIRouter, FastAPI, Request, Response
from fastapi.responses import HTMLResponse, RedirectResponse, StreamingResponse
from fastapi.staticfiles import StaticFiles
from jinja2 import Environment, FileSystemLoader, select_autoescape
from starlette.concurrency import run_in_threadpool

from hq import accounts, privacy, reports, review
from hq.accounts import User
from hq.ratelimit import RateLimiter
from hq.storage import hq_settings

WEB = Path(__file__).resolve().parent / "web"
COOKIE = "ik_session"
LOGIN_COOKIE = "ik_login"
SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; img-src 'self' data:; media-src 'self'; "
                               "frame-ancestors 'none'; form-action 'self'; base-uri 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}
_templates = Environment(loader=FileSystemLoader(WEB / "templates"),
                         autoescape=select_autoescape(["html"]))


class SignInRequired(Exception):
    """No live session: send the browser to the sign-in page."""


class Forbidden(Exception):
    """Signed in, but this role may not do that."""


def _local_path(target: str) -> str:
    """`target` if it is a path on this site, else "/" (no redirect to elsewhere)."""
    if target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return "/"


def _secure(request: Request) -> bool:
    host = request.url.hostname or ""
    return request.url.scheme == "https" or host not in ("127.0.0.1", "localhost", "::1")


def _page(name: str, status: int = 200, **context: Any) -> HTMLResponse:
    return HTMLResponse(_templates.get_template(name).render(**context), status,
                        headers=SECURITY_HEADERS)


async def _form(request: Request) -> dict[str, str]:
    body = await request.body()
    if len(body) > 64 * 1024:
        raise Forbidden("that form is too large")
    fields = urllib.parse.parse_qs(body.decode("utf-8", "replace"), keep_blank_values=True)
    return {key: values[-1] for key, values in fields.items()}


def register(app: FastAPI, ctx: Any) -> None:
    """Add the dashboard's pages to the HQ app."""
    router = APIRouter(include_in_schema=False)
    # Failed sign-ins to one account from one address are slowed hard; one address signing
    # many people in (an office behind one NAT) only a little.
    per_account = RateLimiter(rate=0.1, burst=5)
    per_address = RateLimiter(rate=1.0, burst=50)
    storage = ctx.storage
    app.mount("/static", StaticFiles(directory=WEB / "static"), name="static")

    def who(request: Request) -> tuple[User, str]:
        token = request.cookies.get(COOKIE)
        found = accounts.session_user(storage, token) if token else None
        if found is None:
            raise SignInRequired
        return found

    def require(request: Request, action: str) -> tuple[User, str]:
        user, csrf = who(request)
        if not user.can(action):
            raise Forbidden(f"your role ({user.role}) may not do that")
        return user, csrf

    def check_csrf(form: dict[str, str], csrf: str) -> None:
        if not hmac.compare_digest(form.get("csrf", ""), csrf):
            raise Forbidden("the form expired or came from elsewhere; reload the page")

    def blind() -> bool:
        with storage.read() as conn:
            value = conn.execute(sa.select(hq_settings.c.value).where(
                hq_settings.c.key == "blind_review")).scalar()
        return bool(value == "on")

    def base(user: User, csrf: str, **more: Any) -> dict[str, Any]:
        return {"user": user, "csrf": csrf, "blind": blind(), **more}

    @app.exception_handler(SignInRequired)
    async def _sign_in(request: Request, _exc: SignInRequired) -> Response:
        target = urllib.parse.quote(request.url.path)
        return RedirectResponse(f"/login?next={target}", 303)

    @app.exception_handler(Forbidden)
    async def _forbidden(_request: Request, exc: Forbidden) -> Response:
        return _page("error.html", 403, message=str(exc))

    @router.get("/login")
    async def login_page(request: Request, next: str = "/", failed: str = "") -> Response:
        token = secrets.token_urlsafe(24)
        response = _page("login.html", login_csrf=token, next=_local_path(next),
                         failed=bool(failed))
        response.set_cookie(LOGIN_COOKIE, token, httponly=True, samesite="strict",
                            secure=_secure(request), max_age=900)
        return response

    @router.post("/login")
    async def login(request: Request) -> Response:
        form = await _form(request)
        expected = request.cookies.get(LOGIN_COOKIE, "")
        if not expected or not hmac.compare_digest(form.get("csrf", ""), expected):
            raise Forbidden("the sign-in form expired; open it again")
        client = request.client.host if request.client else "unknown"
        name = form.get("name", "")
        if not per_address.allow(client) or per_account.blocked(f"{client}|{name}"):
            return _page("login.html", 429, login_csrf=expected, next="/", failed=False,
                         limited=True)
        user = await run_in_threadpool(accounts.authenticate, storage, name,
                                       form.get("password", ""))
        if user is None:
            per_account.allow(f"{client}|{name}")
            ctx.audit.record("user.sign_in_failed", "anonymous", {"name_length": len(name)})
            target = urllib.parse.quote(_local_path(form.get("next", "/")))
            return RedirectResponse(f"/login?failed=1&next={target}", 303)
        token, _ = accounts.start_session(storage, user, ctx.session_ttl)
        ctx.audit.record("user.signed_in", user.name)
        response = RedirectResponse(_local_path(form.get("next", "/")), 303)
        response.set_cookie(COOKIE, token, httponly=True, samesite="strict",
                            secure=_secure(request), max_age=int(ctx.session_ttl
                                                                  .total_seconds()))
        response.delete_cookie(LOGIN_COOKIE)
        return response

    @router.post("/logout")
    async def logout(request: Request) -> Response:
        _, csrf = who(request)
        check_csrf(await _form(request), csrf)
        accounts.end_session(storage, request.cookies.get(COOKIE, ""))
        response = RedirectResponse("/login", 303)
        response.delete_cookie(COOKIE)
        return response

    @router.get("/")
    async def overview(request: Request) -> Response:
        user, csrf = require(request, "view")
        rows = await run_in_threadpool(review.funnel, storage)
        return _page("overview.html", **base(user, csrf, interviews=rows))

    @router.get("/interviews/{interview_id}")
    async def candidates(request: Request, interview_id: str, sort: str = "date",
                         needs_review: str = "", kiosk: str = "") -> Response:
        user, csrf = require(request, "view")
        flag = {"yes": True, "no": False}.get(needs_review)
        rows = await run_in_threadpool(review.candidate_rows, storage, interview_id, sort,
                                       flag, kiosk or None)
        kiosks = await run_in_threadpool(review.kiosk_names, storage, interview_id)
        return _page("candidates.html", **base(user, csrf, interview_id=interview_id,
                                                rows=rows, sort=sort, kiosk=kiosk,
                                                kiosks=kiosks, needs_review=needs_review))

    def opened(device: str, session: str) -> review.OpenedSession:
        try:
            return review.open_session(storage, ctx.keys.identity, device, session)
        except review.ReviewError as exc:
            raise Forbidden(str(exc)) from None

    @router.get("/sessions/{device}/{session}")
    async def candidate(request: Request, device: str, session: str) -> Response:
        user, csrf = require(request, "view")
        found = await run_in_threadpool(opened, device, session)
        own, others = review.session_reviews(storage, ctx.keys.identity, user, device,
                                             session)
        ctx.audit.record("session.viewed", user.name, {"device_id": device,
                                                       "session_id": session})
        competencies = _competencies(found)
        return _page("candidate.html", **base(
            user, csrf, s=found, card=found.card, own=own, others=others,
            competencies=competencies, transcripts=found.transcripts))

    @router.post("/sessions/{device}/{session}/review")
    async def submit(request: Request, device: str, session: str) -> Response:
        user, csrf = require(request, "review")
        form = await _form(request)
        check_csrf(form, csrf)
        scores = {key[6:]: int(value) for key, value in form.items()
                  if key.startswith("score:") and value.isdigit()}
        try:
            review.submit_review(storage, user, device, session, scores,
                                 form.get("note", "")[:5000], form.get("decision") or None,
                                 ctx.keys.identity.recipient)
        except review.ReviewError as exc:
            raise Forbidden(str(exc)) from None
        ctx.audit.record("review.submitted", user.name, {
            "device_id": device, "session_id": session, "scores": scores,
            "decision": form.get("decision") or None})
        return RedirectResponse(f"/sessions/{device}/{session}#review", 303)

    @router.get("/media/{device}/{session}/{question}/{media}")
    async def media(request: Request, device: str, session: str, question: str,
                    media: str) -> Response:
        user, _ = require(request, "view")
        try:
            reader = await run_in_threadpool(review.open_recording, storage, ctx.blobs,
                                             ctx.keys.identity, device, session, question,
                                             media)
        except review.ReviewError as exc:
            raise Forbidden(str(exc)) from None
        size = reader.size
        start, end = 0, size - 1
        ranged = request.headers.get("range", "")
        if ranged.startswith("bytes="):
            first, _, last = ranged[6:].split(",")[0].partition("-")
            if first.isdigit():
                start = int(first)
                end = min(int(last), size - 1) if last.isdigit() else size - 1
            elif last.isdigit():
                start, end = max(0, size - int(last)), size - 1
            if start > end or start >= size:
                reader.close()
                return Response(status_code=416, headers={"Content-Range": f"bytes */{size}"})
        if start == 0:
            ctx.audit.record("recording.viewed", user.name, {
                "device_id": device, "session_id": session, "question_id": question})

        def chunks() -> Iterator[bytes]:
            try:
                position = start
                while position <= end:
                    stop = min(end + 1, position + 256 * 1024)
                    yield reader.read_range(position, stop)
                    position = stop
            finally:
                reader.close()

        headers = {"Accept-Ranges": "bytes", "Content-Length": str(end - start + 1),
                   "Cache-Control": "no-store", "X-Content-Type-Options": "nosniff"}
        if ranged:
            headers["Content-Range"] = f"bytes {start}-{end}/{size}"
        return StreamingResponse(chunks(), 206 if ranged else 200, headers,
                                 media_type="video/mp4" if media == "video" else "audio/aac")

    @router.get("/export/scorecards.{fmt}")
    async def export(request: Request, fmt: str, interview: str = "") -> Response:
        user, _ = require(request, "export")
        if fmt not in ("csv", "json"):
            raise Forbidden("export as csv or json")
        if fmt == "json":
            rows = await run_in_threadpool(review.candidate_rows, storage, interview or None)
            body = json.dumps(rows, indent=2, default=str)
        else:
            body = await run_in_threadpool(reports.scorecards_csv, storage, interview or None)
        count = len(rows) if fmt == "json" else body.count("\n") - 1
        ctx.audit.record("scorecards.exported", user.name, {"format": fmt, "count": count})
        if fmt == "json":
            return Response(body, 200, {
                **SECURITY_HEADERS,
                "Content-Disposition": "attachment; filename=scorecards.json"},
                media_type="application/json")
        return Response(body, 200, {
            **SECURITY_HEADERS, "Content-Disposition": "attachment; filename=scorecards.csv"},
            media_type="text/csv")

    @router.get("/admin")
    async def admin(request: Request) -> Response:
        user, csrf = require(request, "admin")
        verification = ctx.audit.verify()
        return _page("admin.html", **base(user, csrf, users=accounts.list_users(storage),
                                          audit=ctx.audit.entries(200),
                                          verification=verification))

    @router.post("/admin/users")
    async def add_user(request: Request) -> Response:
        user, csrf = require(request, "admin")
        form = await _form(request)
        check_csrf(form, csrf)
        try:
            added = accounts.add_user(storage, form.get("name", ""), form.get("role", ""),
                                      form.get("password", ""))
        except accounts.AccountError as exc:
            raise Forbidden(str(exc)) from None
        ctx.audit.record("user.added", user.name, {"user": added.name, "role": added.role})
        return RedirectResponse("/admin", 303)

    @router.post("/admin/blind")
    async def set_blind(request: Request) -> Response:
        user, csrf = require(request, "admin")
        form = await _form(request)
        check_csrf(form, csrf)
        with storage.write() as conn:
            conn.execute(hq_settings.delete().where(hq_settings.c.key == "blind_review"))
            conn.execute(hq_settings.insert().values(
                key="blind_review", value="on" if form.get("blind") == "on" else "off"))
        ctx.audit.record("blind_review.changed", user.name, {"on": form.get("blind") == "on"})
        return RedirectResponse("/admin", 303)

    @router.get("/admin/requests")
    async def requests_page(request: Request, reference: str = "") -> Response:
        user, csrf = require(request, "admin")
        found = privacy.find(storage, reference) if reference else []
        return _page("requests.html", **base(user, csrf, requests=privacy.list_requests(
            storage), reference=reference, found=found))

    @router.post("/admin/requests")
    async def log_request(request: Request) -> Response:
        user, csrf = require(request, "admin")
        form = await _form(request)
        check_csrf(form, csrf)
        try:
            received = datetime.fromisoformat(form["received"]).replace(tzinfo=UTC) \
                if form.get("received") else None
            number = privacy.open_request(storage, form.get("kind", ""),
                                          form.get("reference", ""), received)
        except (ValueError, KeyError) as exc:
            raise Forbidden(str(exc)) from None
        ctx.audit.record("request.logged", user.name, {"request": number,
                                                       "kind": form.get("kind")})
        return RedirectResponse("/admin/requests", 303)

    @router.post("/admin/requests/{request_id}/done")
    async def request_done(request: Request, request_id: int) -> Response:
        user, csrf = require(request, "admin")
        check_csrf(await _form(request), csrf)
        privacy.complete_request(storage, request_id, user.name)
        return RedirectResponse("/admin/requests", 303)

    @router.post("/admin/sessions/{device}/{session}/access")
    async def access_export(request: Request, device: str, session: str) -> Response:
        user, csrf = require(request, "admin")
        check_csrf(await _form(request), csrf)
        try:
            archive = await run_in_threadpool(privacy.access_archive, storage, ctx.blobs,
                                              ctx.keys.identity, device, session)
        except review.ReviewError as exc:
            raise Forbidden(str(exc)) from None
        ctx.audit.record("access.exported", user.name, {"device_id": device,
                                                        "session_id": session})
        return Response(archive, 200, {
            **SECURITY_HEADERS,
            "Content-Disposition": f"attachment; filename=interview-{session[:8]}.zip"},
            media_type="application/zip")

    @router.post("/admin/sessions/{device}/{session}/erase")
    async def erase(request: Request, device: str, session: str) -> Response:
        user, csrf = require(request, "admin")
        form = await _form(request)
        check_csrf(form, csrf)
        if form.get("confirm") != "erase":
            raise Forbidden("type erase to confirm")
        await run_in_threadpool(privacy.erase_session, storage, ctx.blobs, ctx.audit,
                                device, session, user.name, "request")
        return RedirectResponse("/admin/requests?erased=1", 303)

    @router.get("/reports/fairness")
    async def fairness_page(request: Request, interview: str = "") -> Response:
        user, csrf = require(request, "admin")
        from hq.fairness import FOUR_FIFTHS, SMALL_GROUP, adverse_impact

        rates = await run_in_threadpool(adverse_impact, storage, ctx.keys.identity,
                                        interview or None, ctx.audit)
        return _page("fairness.html", **base(user, csrf, rates=rates, interview=interview,
                                              threshold=FOUR_FIFTHS, small=SMALL_GROUP))

    app.include_router(router)


def _competencies(found: review.OpenedSession) -> list[dict[str, Any]]:
    """Each competency's suggestion beside its rubric: description and anchored levels."""
    return [{**c, **found.rubric.get(c["id"], {})} for c in found.card.get("competencies", [])]
