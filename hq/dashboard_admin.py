"""The dashboard's admin pages: accounts, blind review, the audit log, candidates' requests
(access and erasure) and the adverse-impact report. Admins only; every form is parsed
strictly and carries the session's CSRF token (`hq.dashboard.Pages`)."""

from __future__ import annotations

import sqlalchemy as sa
from fastapi import APIRouter, Request, Response
from fastapi.responses import RedirectResponse
from starlette.concurrency import run_in_threadpool

from hq import accounts, forms, privacy, review
from hq.dashboard import SECURITY_HEADERS, PageError, Pages, page, review_refusal
from hq.storage import HqStorage, hq_settings, sessions


def register(router: APIRouter, pages: Pages) -> None:
    """Add the admin pages to the dashboard's router."""
    ctx = pages.ctx
    storage = pages.storage

    @router.get("/admin")
    async def admin(request: Request) -> Response:
        user, csrf = pages.require(request, "admin")
        verification = await run_in_threadpool(ctx.audit.verify)
        return page("admin.html", **pages.base(user, csrf, users=accounts.list_users(storage),
                                               audit=ctx.audit.entries(200),
                                               verification=verification))

    @router.post("/admin/users")
    async def add_user(request: Request) -> Response:
        user, csrf = pages.require(request, "admin")
        form = await pages.form(request, csrf)
        try:
            added = await run_in_threadpool(
                accounts.add_user, storage, forms.one_line(form.get("name"), "the name"),
                form.get("role", ""), form.get("password", ""))
        except accounts.AccountError as exc:
            raise PageError(400, str(exc)) from None
        ctx.audit.record("user.added", user.name, {"user": added.name, "role": added.role})
        return RedirectResponse("/admin", 303)

    @router.post("/admin/blind")
    async def set_blind(request: Request) -> Response:
        user, csrf = pages.require(request, "admin")
        form = await pages.form(request, csrf)
        blind = forms.choice(form.get("blind"), ("on",), "blind review") == "on"
        with storage.write() as conn:
            conn.execute(hq_settings.delete().where(hq_settings.c.key == "blind_review"))
            conn.execute(hq_settings.insert().values(key="blind_review",
                                                     value="on" if blind else "off"))
        ctx.audit.record("blind_review.changed", user.name, {"on": blind})
        return RedirectResponse("/admin", 303)

    @router.get("/admin/requests")
    async def requests_page(request: Request, reference: str = "",
                            erased: str = "") -> Response:
        user, csrf = pages.require(request, "admin")
        reference = forms.one_line(reference, "the reference code", 40)
        found = privacy.find(storage, reference) if reference else []
        return page("requests.html", **pages.base(
            user, csrf, requests=privacy.list_requests(storage), reference=reference,
            found=found, erased=erased == "1"))

    @router.post("/admin/requests")
    async def log_request(request: Request) -> Response:
        user, csrf = pages.require(request, "admin")
        form = await pages.form(request, csrf)
        kind = forms.choice(form.get("kind"), ("access", "erasure"), "the kind of request")
        if kind is None:
            raise forms.BadInputError("choose the kind of request: access or erasure")
        received = forms.received_on(form.get("received"))
        try:
            number = privacy.open_request(storage, kind,
                                          forms.one_line(form.get("reference"),
                                                         "the reference code", 40), received)
        except ValueError as exc:
            raise forms.BadInputError(str(exc)) from None
        ctx.audit.record("request.logged", user.name, {"request": number, "kind": kind})
        return RedirectResponse("/admin/requests", 303)

    @router.post("/admin/requests/{request_id}/done")
    async def request_done(request: Request, request_id: str) -> Response:
        user, csrf = pages.require(request, "admin")
        number = forms.request_number(request_id)
        await pages.form(request, csrf)
        if not privacy.complete_request(storage, number, user.name):
            raise forms.NotFoundError("there is no such request")
        return RedirectResponse("/admin/requests", 303)

    @router.post("/admin/sessions/{device}/{session}/access")
    async def access_export(request: Request, device: str, session: str) -> Response:
        user, csrf = pages.require(request, "admin")
        device, session = forms.session_path(device, session)
        await pages.form(request, csrf)
        try:
            archive = await run_in_threadpool(privacy.access_archive, storage, ctx.blobs,
                                              ctx.keys.identity, device, session)
        except review.ReviewError as exc:
            raise review_refusal(exc) from None
        ctx.audit.record("access.exported", user.name, {"device_id": device,
                                                        "session_id": session})
        return Response(archive, 200, {
            **SECURITY_HEADERS,
            "Content-Disposition": f"attachment; filename=interview-{session[:8]}.zip"},
            media_type="application/zip")

    @router.post("/admin/sessions/{device}/{session}/erase")
    async def erase(request: Request, device: str, session: str) -> Response:
        user, csrf = pages.require(request, "admin")
        device, session = forms.session_path(device, session)
        form = await pages.form(request, csrf)
        if form.get("confirm") != "erase":
            raise forms.BadInputError("type erase to confirm")
        await run_in_threadpool(_must_hold, storage, device, session)
        await run_in_threadpool(privacy.erase_session, storage, ctx.blobs, ctx.audit,
                                device, session, user.name, "request")
        return RedirectResponse("/admin/requests?erased=1", 303)

    @router.get("/reports/fairness")
    async def fairness_page(request: Request, interview: str = "") -> Response:
        user, csrf = pages.require(request, "admin")
        from hq.fairness import FOUR_FIFTHS, SMALL_GROUP, adverse_impact

        interview = forms.one_line(interview, "the interview", 64)
        rates = await run_in_threadpool(adverse_impact, storage, ctx.keys.identity,
                                        interview or None, ctx.audit)
        return page("fairness.html", **pages.base(user, csrf, rates=rates, interview=interview,
                                                  threshold=FOUR_FIFTHS, small=SMALL_GROUP))


def _must_hold(storage: HqStorage, device: str, session: str) -> None:
    """Erasing is for a session HQ holds: 404 for one it never had, 410 if already erased."""
    with storage.read() as conn:
        held = conn.execute(sa.select(sessions.c.session_id).where(
            sessions.c.device_id == device, sessions.c.session_id == session)).first()
        if held is None:
            raise review_refusal(review.missing_session(conn, device, session))
