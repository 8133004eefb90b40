"""The recruiter dashboard: server-rendered pages (Jinja2) over HQ's review data.

Sign-in sets an HttpOnly, SameSite=Strict session cookie, `Secure` unless `serve` was
started with `--plain-http` for a local trial (never decided from the Host header, which a
proxy may set to anything). Every form carries the session's CSRF token; sign-in carries a
double-submit token of its own. Sign-in attempts are rate-limited per address (the proxy's
address unless `serve --trusted-proxy` names it). Pages send a strict
Content-Security-Policy: no inline script, nothing from elsewhere. Every form field, query
value and path part is parsed strictly (`hq.forms`): a bad one gets a 400 or 404 page.
Recordings are decrypted on the fly and served with byte ranges (`hq.media`).
Administration (accounts, requests, erasure, fairness) is in `hq.dashboard_admin`.
"""

from __future__ import annotations

import hmac
import json
import secrets
import urllib.parse
from pathlib import Path
from typing import Any

from fastapi import APIRouter, FastAPI, Request, Response
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse, StreamingResponse
from fastapi.staticfiles import StaticFiles
from jinja2 import Environment, FileSystemLoader, select_autoescape
from starlette.concurrency import run_in_threadpool

from hq import accounts, forms, media, reports, results, review
from hq.accounts import User
from hq.ratelimit import RateLimiter
from hq.storage import hq_settings
from sync import protocol

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


class PageError(Exception):
    """A request the dashboard answers with an error page: its status and a sentence."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


class Forbidden(PageError):
    """Signed in, but this role may not do that (or the form's token is wrong)."""

    def __init__(self, message: str) -> None:
        super().__init__(403, message)


_REVIEW_STATUS: tuple[tuple[type[review.ReviewError], int], ...] = (
    (review.NoSuchSessionError, 404), (review.SessionErasedError, 410),
    (review.InvalidReviewError, 400), (review.ReviewError, 403))


def review_refusal(exc: review.ReviewError) -> PageError:
    """The page for a review error: 404 unknown, 410 erased, 400 invalid, 403 role."""
    status = next(code for kind, code in _REVIEW_STATUS if isinstance(exc, kind))
    return PageError(status, str(exc))


def _local_path(target: str) -> str:
    """`target` if it is a path on this site, else "/" (no redirect to elsewhere)."""
    if (target.startswith("/") and not target.startswith("//") and "\\" not in target
            and target.isprintable() and len(target) <= 500):
        return target
    return "/"


def page(name: str, status: int = 200, **context: Any) -> HTMLResponse:
    """A rendered template with the dashboard's security headers."""
    return HTMLResponse(_templates.get_template(name).render(**context), status,
                        headers=SECURITY_HEADERS)


def error_page(status: int, message: str) -> tuple[list[tuple[bytes, bytes]], bytes]:
    """A bare error page (no account known), for refusals made outside a route."""
    body = _templates.get_template("error.html").render(message=message,
                                                        code=status).encode()
    headers = [(name.lower().encode(), value.encode())
               for name, value in SECURITY_HEADERS.items()]
    return [*headers, (b"content-type", b"text/html; charset=utf-8")], body


class Pages:
    """What every dashboard route shares: the context, who is signed in, forms, CSRF."""

    def __init__(self, ctx: Any) -> None:
        self.ctx = ctx
        self.storage = ctx.storage

    def who(self, request: Request) -> tuple[User, str]:
        """The signed-in user and the session's CSRF token, or SignInRequired."""
        token = request.cookies.get(COOKIE)
        found = None
        if token and len(token) <= 100 and token.isascii():
            found = accounts.session_user(self.storage, token)
        if found is None:
            raise SignInRequired
        return found

    def require(self, request: Request, action: str) -> tuple[User, str]:
        """The signed-in user, if their role may do `action`."""
        user, csrf = self.who(request)
        if not user.can(action):
            raise Forbidden(f"your role ({user.role}) may not do that")
        return user, csrf

    async def form(self, request: Request, csrf: str | None) -> dict[str, str]:
        """The posted form, parsed strictly, its CSRF token checked against `csrf`."""
        fields = forms.parse_form(await request.body(), request.headers.get("content-type"))
        if csrf is not None and not hmac.compare_digest(
                fields.get("csrf", "").encode(), csrf.encode()):
            raise Forbidden("the form expired or came from elsewhere; reload the page")
        return fields

    def blind(self) -> bool:
        """Whether blind review is on."""
        import sqlalchemy as sa

        with self.storage.read() as conn:
            value = conn.execute(sa.select(hq_settings.c.value).where(
                hq_settings.c.key == "blind_review")).scalar()
        return bool(value == "on")

    def base(self, user: User, csrf: str, **more: Any) -> dict[str, Any]:
        """The context every signed-in page gets."""
        return {"user": user, "csrf": csrf, "blind": self.blind(), **more}

    def set_cookie(self, response: Response, name: str, value: str, max_age: int) -> None:
        """A cookie as every dashboard cookie is: HttpOnly, SameSite=Strict, Secure unless
        HQ was started for a plain-HTTP trial."""
        response.set_cookie(name, value, httponly=True, samesite="strict",
                            secure=self.ctx.secure_cookies, max_age=max_age)


def register(app: FastAPI, ctx: Any) -> None:
    """Add the dashboard's pages to the HQ app."""
    from hq import dashboard_admin

    router = APIRouter(include_in_schema=False)
    pages = Pages(ctx)
    storage = ctx.storage
    views = media.ViewLog()
    # Failed sign-ins to one account from one address are slowed hard; one address signing
    # many people in (an office behind one NAT) only a little.
    per_account = RateLimiter(rate=0.1, burst=5)
    per_address = RateLimiter(rate=1.0, burst=50)
    app.mount("/static", StaticFiles(directory=WEB / "static"), name="static")

    @app.exception_handler(SignInRequired)
    async def _sign_in(request: Request, _exc: SignInRequired) -> Response:
        target = urllib.parse.quote(request.url.path)
        return RedirectResponse(f"/login?next={target}", 303)

    @app.exception_handler(PageError)
    async def _refused(_request: Request, exc: PageError) -> Response:
        return page("error.html", exc.status, message=str(exc), code=exc.status)

    @app.exception_handler(forms.BadInputError)
    async def _bad_input(_request: Request, exc: forms.BadInputError) -> Response:
        return page("error.html", 400, message=str(exc), code=400)

    @app.exception_handler(forms.NotFoundError)
    async def _not_found(_request: Request, exc: forms.NotFoundError) -> Response:
        return page("error.html", 404, message=str(exc), code=404)

    @router.get("/favicon.ico")
    async def favicon() -> Response:
        return FileResponse(WEB / "static" / "favicon.ico", media_type="image/x-icon",
                            headers={"Cache-Control": "public, max-age=86400"})

    @router.get("/login")
    async def login_page(request: Request, next: str = "/", failed: str = "") -> Response:
        token = secrets.token_urlsafe(24)
        response = page("login.html", login_csrf=token, next=_local_path(next),
                        failed=bool(failed))
        pages.set_cookie(response, LOGIN_COOKIE, token, 900)
        return response

    @router.post("/login")
    async def login(request: Request) -> Response:
        form = await pages.form(request, None)
        expected = request.cookies.get(LOGIN_COOKIE, "")
        if not expected or not hmac.compare_digest(form.get("csrf", "").encode(),
                                                   expected.encode()):
            raise Forbidden("the sign-in form expired; open it again")
        client = request.client.host if request.client else "unknown"
        name = form.get("name", "")[:100]
        if not per_address.allow(client) or per_account.blocked(f"{client}|{name}"):
            return page("login.html", 429, login_csrf=expected, next="/", failed=False,
                        limited=True)
        user = await run_in_threadpool(accounts.authenticate, storage, name,
                                       form.get("password", ""))
        target = _local_path(form.get("next", "/"))
        if user is None:
            per_account.allow(f"{client}|{name}")
            ctx.audit.record("user.sign_in_failed", "anonymous", {"name_length": len(name)})
            return RedirectResponse(f"/login?failed=1&next={urllib.parse.quote(target)}", 303)
        token, _ = accounts.start_session(storage, user, ctx.session_ttl)
        ctx.audit.record("user.signed_in", user.name)
        response = RedirectResponse(target, 303)
        pages.set_cookie(response, COOKIE, token, int(ctx.session_ttl.total_seconds()))
        response.delete_cookie(LOGIN_COOKIE)
        return response

    @router.post("/logout")
    async def logout(request: Request) -> Response:
        _, csrf = pages.who(request)
        await pages.form(request, csrf)
        accounts.end_session(storage, request.cookies.get(COOKIE, ""))
        response = RedirectResponse("/login", 303)
        response.delete_cookie(COOKIE)
        return response

    @router.get("/")
    async def overview(request: Request) -> Response:
        user, csrf = pages.require(request, "view")
        rows = await run_in_threadpool(results.funnel, storage, user)
        return page("overview.html", **pages.base(user, csrf, interviews=rows))

    @router.get("/interviews/{interview_id}")
    async def candidates(request: Request, interview_id: str, sort: str = "date",
                         needs_review: str = "", kiosk: str = "") -> Response:
        user, csrf = pages.require(request, "view")
        forms.path_id(interview_id, protocol.QUESTION_ID, "interview")
        forms.choice(sort, results.SORT_NAMES, "the sort")
        flag = {"yes": True, "no": False, "": None}.get(
            forms.choice(needs_review, ("yes", "no"), "needs review") or "")
        if kiosk and not protocol.DEVICE_NAME.fullmatch(kiosk):
            raise forms.BadInputError("there is no kiosk by that name")
        rows = await run_in_threadpool(results.candidate_rows, storage, interview_id, sort,
                                       flag, kiosk or None, user)
        kiosks = await run_in_threadpool(results.kiosk_names, storage, interview_id)
        title = (await run_in_threadpool(results.interview_titles, storage)).get(interview_id)
        return page("candidates.html", **pages.base(
            user, csrf, interview_id=interview_id, title=title, rows=rows, sort=sort,
            kiosk=kiosk, kiosks=kiosks, needs_review=needs_review))

    @router.get("/interviews/{interview_id}/follow-ups")
    async def follow_up_rates(request: Request, interview_id: str) -> Response:
        user, csrf = pages.require(request, "view")
        forms.path_id(interview_id, protocol.QUESTION_ID, "interview")
        from hq import follow_ups

        rates = await run_in_threadpool(follow_ups.probe_rates, storage, ctx.keys.identity,
                                        interview_id, ctx.audit)
        title = (await run_in_threadpool(results.interview_titles, storage)).get(interview_id)
        return page("follow_ups.html", **pages.base(
            user, csrf, interview_id=interview_id, title=title, questions=rates,
            most=follow_ups.MOST, small=follow_ups.SMALL, not_judged=follow_ups.NOT_JUDGED))

    def candidate_page(user: User, csrf: str, device: str, session: str,
                       draft: dict[str, Any] | None = None, problem: str = "",
                       status: int = 200) -> Response:
        try:
            found = review.open_session(storage, ctx.keys.identity, device, session)
        except review.ReviewError as exc:
            raise review_refusal(exc) from None
        own, others = review.session_reviews(storage, ctx.keys.identity, user, device,
                                             session)
        ctx.audit.record("session.viewed", user.name, {"device_id": device,
                                                       "session_id": session})
        return page("candidate.html", status, **pages.base(
            user, csrf, s=found, card=found.card, own=own, others=others,
            show_others=review.sees_others(user, own is not None),
            form_values=draft or own, problem=problem,
            competencies=_competencies(found), transcripts=found.transcripts,
            evidence=_evidence_by_question(found.card), note_limit=forms.NOTE_LIMIT))

    @router.get("/sessions/{device}/{session}")
    async def candidate(request: Request, device: str, session: str) -> Response:
        user, csrf = pages.require(request, "view")
        device, session = forms.session_path(device, session)
        return await run_in_threadpool(candidate_page, user, csrf, device, session)

    @router.post("/sessions/{device}/{session}/review")
    async def submit(request: Request, device: str, session: str) -> Response:
        user, csrf = pages.require(request, "review")
        device, session = forms.session_path(device, session)
        form = await pages.form(request, csrf)
        draft: dict[str, Any] = {"scores": {}, "decision": form.get("decision") or None,
                 "note": form.get("note", "")}
        try:
            scores = {name[6:]: forms.level(value, name[6:]) for name, value in form.items()
                      if name.startswith("score:") and value}
            decision = forms.choice(form.get("decision"), review.DECISIONS, "the decision")
            note = forms.note(form.get("note"))
            await run_in_threadpool(review.submit_review, storage, user, device, session,
                                    scores, note, decision, ctx.keys.identity.recipient)
        except (forms.BadInputError, review.InvalidReviewError) as exc:
            # The form comes back as it was sent, with what to change: nothing typed is lost.
            draft["scores"] = {name[6:]: value for name, value in form.items()
                               if name.startswith("score:")}
            return await run_in_threadpool(candidate_page, user, csrf, device, session,
                                           draft, str(exc), 400)
        except review.ReviewError as exc:
            raise review_refusal(exc) from None
        ctx.audit.record("review.submitted", user.name, {
            "device_id": device, "session_id": session, "scores": scores,
            "decision": decision})
        return RedirectResponse(f"/sessions/{device}/{session}#review", 303)

    @router.get("/media/{device}/{session}/{question}/{kind}")
    async def recording(request: Request, device: str, session: str, question: str,
                        kind: str) -> Response:
        user, _ = pages.require(request, "view")
        device, session = forms.session_path(device, session)
        forms.path_id(question, protocol.ANSWER_KEY, "answer")  # a question's or its follow-up's
        if kind not in ("video", "audio"):
            raise forms.NotFoundError("a recording is video or audio")
        try:
            reader = await run_in_threadpool(review.open_recording, storage, ctx.blobs,
                                             ctx.keys.identity, device, session, question,
                                             kind)
        except review.ReviewError as exc:
            raise review_refusal(exc) from None
        try:
            wanted = media.byte_range(request.headers.get("range"), reader.size)
            recording_key = (device, session, question, kind)
            if views.due(user.name, recording_key):
                try:
                    await run_in_threadpool(ctx.audit.record, "recording.viewed", user.name, {
                        "device_id": device, "session_id": session, "question_id": question,
                        "media": kind})
                except BaseException:
                    views.forget(user.name, recording_key)
                    raise
        except media.Unsatisfiable:
            reader.close()
            return Response(status_code=416, headers={"Content-Range": f"bytes */{reader.size}"})
        except BaseException:
            reader.close()
            raise
        headers = {"Accept-Ranges": "bytes", "Content-Length": str(wanted.length),
                   "Cache-Control": "no-store", "X-Content-Type-Options": "nosniff",
                   # Opened on its own, the browser's player may load it, and nothing else.
                   "Content-Security-Policy": "default-src 'none'; media-src 'self'; "
                                              "frame-ancestors 'none'"}
        if wanted.partial:
            headers["Content-Range"] = f"bytes {wanted.first}-{wanted.last}/{reader.size}"
        return StreamingResponse(media.stream(reader.read_range, reader.close, wanted),
                                 206 if wanted.partial else 200, headers,
                                 media_type="video/mp4" if kind == "video" else "audio/aac")

    @router.get("/export/scorecards.{fmt}")
    async def export(request: Request, fmt: str, interview: str = "") -> Response:
        user, _ = pages.require(request, "export")
        if fmt not in ("csv", "json"):
            raise forms.NotFoundError("export as scorecards.csv or scorecards.json")
        if interview:
            forms.path_id(interview, protocol.QUESTION_ID, "interview")
        if fmt == "json":
            rows = await run_in_threadpool(results.candidate_rows, storage, interview or None,
                                           "date", None, None, user)
            body = json.dumps(rows, indent=2, default=str)
            count = len(rows)
        else:
            body = await run_in_threadpool(reports.scorecards_csv, storage, interview or None,
                                           user)
            count = body.count("\n") - 1
        ctx.audit.record("scorecards.exported", user.name, {"format": fmt, "count": count})
        return Response(body, 200, {
            **SECURITY_HEADERS, "Content-Disposition": f"attachment; filename=scorecards.{fmt}"},
            media_type="application/json" if fmt == "json" else "text/csv")

    dashboard_admin.register(router, pages)
    from hq import dashboard_drives

    dashboard_drives.register(router, pages)
    app.include_router(router)


def _competencies(found: review.OpenedSession) -> list[dict[str, Any]]:
    """Each competency's suggestion beside its rubric: description and anchored levels."""
    return [{**c, **found.rubric.get(c["id"], {})} for c in found.card.get("competencies", [])]


def _evidence_by_question(card: dict[str, Any]) -> dict[str, list[dict[str, Any]]]:
    """Per question, every piece of evidence of every suggestion, in the order it was said,
    each with its competency's name and how it was found (phrases, or meaning and a score)."""
    found: dict[str, list[dict[str, Any]]] = {}
    for competency in card.get("competencies", []):
        suggestion = competency.get("suggestion") or {}
        for item in suggestion.get("evidence", []):
            found.setdefault(item["question_id"], []).append(
                {**item, "competency": competency["name"]})
    for pieces in found.values():
        pieces.sort(key=lambda piece: piece["start"])
    return found
