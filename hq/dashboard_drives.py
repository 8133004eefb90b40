"""The dashboard's drive pages and fleet board.

Everyone signed in sees the drives with their funnel and the fleet board. Admins create
drives, import rosters (pasted CSV: all rows or none, every problem with its line), print
the invitations and export the placement cell's list; each of those names candidates and
is audited. Forms are parsed strictly and carry the session's CSRF token.
"""

from __future__ import annotations

import io
import tempfile
import zipfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import HTMLResponse, RedirectResponse
from starlette.concurrency import run_in_threadpool

from hq import drives, fleet, forms
from hq.dashboard import SECURITY_HEADERS, PageError, Pages, page
from hq.results import interview_titles
from hq.roster import RosterError, parse_roster_csv
from sync.invites import DRIVE_ID

FUNNEL_STEPS = (("Invited", "invited"), ("Started", "started"), ("Completed", "completed"),
                ("Reviewed", "reviewed"), ("Advanced", "advanced"))


def _drive_id(text: str) -> str:
    if not DRIVE_ID.fullmatch(text):
        raise forms.NotFoundError("there is no such drive")
    return text


def _found(storage: Any, drive_id: str, viewer: Any = None) -> dict[str, Any]:
    try:
        drive = drives.get_drive(storage, _drive_id(drive_id))
    except drives.NoSuchDriveError:
        raise forms.NotFoundError("there is no such drive") from None
    return {**drive, **drives.funnel(storage, drive["id"], viewer)}


def register(router: APIRouter, pages: Pages) -> None:
    """Add the drive pages and the fleet board to the dashboard's router."""
    ctx = pages.ctx
    storage = pages.storage

    def drives_page(user: Any, csrf: str, problem: str = "", status: int = 200,
                    form: dict[str, str] | None = None) -> HTMLResponse:
        return page("drives.html", status, **pages.base(
            user, csrf, drives=drives.list_drives(storage, user), problem=problem,
            form=form or {}, kiosks=fleet.fleet(storage),
            titles=interview_titles(storage)))

    @router.get("/drives")
    async def drives_list(request: Request) -> Response:
        user, csrf = pages.require(request, "view")
        return await run_in_threadpool(drives_page, user, csrf)

    @router.post("/drives")
    async def drive_create(request: Request) -> Response:
        user, csrf = pages.require(request, "admin")
        form = await pages.form(request, csrf)
        kiosks = [name[6:] for name, value in form.items()
                  if name.startswith("kiosk:") and value == "on"]
        if any(not forms.DEVICE_ID.fullmatch(kiosk) for kiosk in kiosks):
            raise forms.BadInputError("there is no such kiosk")
        walk_ins = forms.choice(form.get("walk_ins"), ("on",), "walk-ins") == "on"
        try:
            drive_id = await run_in_threadpool(
                drives.create_drive, storage, forms.one_line(form.get("name"), "the name", 120),
                forms.one_line(form.get("interview"), "the interview", 64), kiosks,
                form.get("from") or None, form.get("to") or None, walk_ins)
        except drives.DriveError as exc:
            return await run_in_threadpool(drives_page, user, csrf, str(exc), 400, form)
        ctx.audit.record("drive.created", user.name, {
            "drive_id": drive_id, "interview_id": form.get("interview"), "kiosks": kiosks,
            "walk_ins": walk_ins})
        return RedirectResponse(f"/drives/{drive_id}", 303)

    def drive_page(user: Any, csrf: str, drive_id: str, problems: list[tuple[int, str]] | None
                   = None, roster_text: str = "", status: int = 200,
                   imported: str = "") -> HTMLResponse:
        drive = _found(storage, drive_id, user)
        return page("drive.html", status, **pages.base(
            user, csrf, drive=drive, steps=FUNNEL_STEPS, problems=problems or [],
            roster_text=roster_text, imported=imported,
            title=interview_titles(storage).get(drive["interview_id"]),
            kiosks=fleet.fleet(storage, drive_id=drive["id"])))

    @router.get("/drives/{drive_id}")
    async def drive_view(request: Request, drive_id: str, imported: str = "") -> Response:
        user, csrf = pages.require(request, "view")
        if imported and not forms.REQUEST_NUMBER.fullmatch(imported):
            raise forms.BadInputError("imported must be a count")
        return await run_in_threadpool(drive_page, user, csrf, drive_id, None, "", 200,
                                       imported)

    @router.post("/drives/{drive_id}/roster")
    async def roster_import(request: Request, drive_id: str) -> Response:
        user, csrf = pages.require(request, "admin")
        drive = await run_in_threadpool(_found, storage, drive_id)
        form = await pages.form(request, csrf)
        text = form.get("roster", "")
        try:
            rows = parse_roster_csv(text.encode("utf-8"))
        except RosterError as exc:
            return await run_in_threadpool(drive_page, user, csrf, drive["id"], exc.problems,
                                           text, 400)
        count = await run_in_threadpool(drives.import_roster, storage, drive["id"], rows,
                                        ctx.keys.identity.recipient)
        ctx.audit.record("drive.roster_imported", user.name,
                         {"drive_id": drive["id"], "invited": count})
        return RedirectResponse(f"/drives/{drive['id']}?imported={count}", 303)

    def invitation_cards(drive: dict[str, Any]) -> list[Any]:
        from hq.invite_sheets import invitations

        people = drives.invited(storage, drive["id"], ctx.keys.identity)
        if not people:
            raise PageError(404, "this drive has no roster yet: import one first")
        return invitations(people, drive, ctx.keys.signing)

    @router.get("/drives/{drive_id}/invitations")
    async def invitation_sheet(request: Request, drive_id: str) -> Response:
        user, _ = pages.require(request, "admin")
        from hq.invite_sheets import sheet_html

        drive = await run_in_threadpool(_found, storage, drive_id)
        cards = await run_in_threadpool(invitation_cards, drive)
        ctx.audit.record("drive.invites_written", user.name,
                         {"drive_id": drive["id"], "invites": len(cards)})
        title = interview_titles(storage).get(drive["interview_id"])
        return HTMLResponse(sheet_html(drive, cards, title, standalone=False),
                            headers=SECURITY_HEADERS)

    @router.get("/drives/{drive_id}/invitations.zip")
    async def invitation_files(request: Request, drive_id: str) -> Response:
        user, _ = pages.require(request, "admin")
        from hq.invite_sheets import write_invitations

        drive = await run_in_threadpool(_found, storage, drive_id)
        cards = await run_in_threadpool(invitation_cards, drive)
        title = interview_titles(storage).get(drive["interview_id"])

        def archive() -> bytes:
            out = io.BytesIO()
            with tempfile.TemporaryDirectory() as folder, \
                    zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zipped:
                for path in write_invitations(Path(folder), drive, cards, title):
                    zipped.write(path, str(path.relative_to(folder)))
            return out.getvalue()

        body = await run_in_threadpool(archive)
        ctx.audit.record("drive.invites_written", user.name,
                         {"drive_id": drive["id"], "invites": len(cards)})
        return Response(body, 200, {
            **SECURITY_HEADERS,
            "Content-Disposition": f"attachment; filename=invitations-{drive['id']}.zip"},
            media_type="application/zip")

    @router.get("/drives/{drive_id}/placement.csv")
    async def placement(request: Request, drive_id: str, decisions: str = "",
                        scores: str = "") -> Response:
        user, _ = pages.require(request, "admin")
        from hq.cli_drives import placement_csv

        with_decisions = forms.choice(decisions, ("on",), "decisions") == "on"
        with_scores = forms.choice(scores, ("on",), "scores") == "on"
        drive = await run_in_threadpool(_found, storage, drive_id)
        rows = await run_in_threadpool(drives.placement_rows, storage, drive["id"],
                                       ctx.keys.identity, with_decisions, with_scores)
        ctx.audit.record("drive.exported", user.name, {
            "drive_id": drive["id"], "rows": len(rows), "decisions": with_decisions,
            "scores": with_scores})
        return Response(placement_csv(rows), 200, {
            **SECURITY_HEADERS,
            "Content-Disposition": f"attachment; filename=placement-{drive['id']}.csv"},
            media_type="text/csv")

    @router.get("/fleet")
    async def fleet_board(request: Request, drive: str = "") -> Response:
        user, csrf = pages.require(request, "view")
        chosen = _drive_id(drive) if drive else None
        names = {d["id"]: d["name"] for d in await run_in_threadpool(drives.list_drives,
                                                                      storage)}
        if chosen is not None and chosen not in names:
            raise forms.NotFoundError("there is no such drive")
        kiosks = await run_in_threadpool(fleet.fleet, storage, None, chosen)
        return page("fleet.html", **pages.base(
            user, csrf, kiosks=kiosks, drives=names, drive=chosen,
            checked_at=datetime.now(UTC).strftime("%H:%M UTC")))
