"""Printable invitations and the placement cell's mail-merge file for one drive.

Each invited candidate gets a page: the drive, their name and roll number, the QR code of
their signed invite token (`sync.invites`) and the short code to type instead. The sheet is
one HTML file with print CSS (one page per candidate, A4), which any browser prints or
saves as PDF. The mail-merge CSV carries, per candidate, their contact, code, token and the
file name of their QR code as a PNG, written beside it, for a merge that attaches images.
QR codes are made by `segno` (already a dependency: pure Python, no fonts).
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import segno
from cryptography.hazmat.primitives.asymmetric import ed25519
from jinja2 import Environment, FileSystemLoader, select_autoescape

from hq.drives import Invited
from hq.reports import _cell
from sync.invites import display_code, sign

WEB = Path(__file__).resolve().parent / "web"
_templates = Environment(loader=FileSystemLoader(WEB / "templates"),
                         autoescape=select_autoescape(["html"]))
MAIL_MERGE_FIELDS = ("roll", "name", "contact", "invite_code", "invite_token", "qr_file")


@dataclass(frozen=True)
class Invitation:
    """One candidate's printed invitation."""

    person: Invited
    token: str
    code: str          # as printed: ABC-DEF-GHJ

    def qr(self) -> segno.QRCode:
        """The QR code of the token (error correction M: survives a crease)."""
        return segno.make(self.token, error="m", micro=False)

    def qr_svg(self) -> str:
        """The QR code as inline SVG, labelled for screen readers."""
        svg: str = self.qr().svg_inline(scale=4, omitsize=True,
                                        title="QR code of this invitation")
        return svg.replace("<svg ", '<svg role="img" aria-label="QR code of this '
                                    'invitation" ', 1)

    @property
    def qr_file(self) -> str:
        """The PNG's file name in the output folder."""
        return f"qr/{self.code}.png"


def invitations(people: list[Invited], drive: dict[str, Any],
                key: ed25519.Ed25519PrivateKey) -> list[Invitation]:
    """Sign every invite of the drive with HQ's key."""
    return [Invitation(person, sign(key, drive["id"], person.invite, drive["expires_at"]),
                       display_code(person.code)) for person in people]


def sheet_html(drive: dict[str, Any], cards: list[Invitation], title: str | None,
               standalone: bool) -> str:
    """The printable sheet; `standalone` inlines its CSS (a file on disk), otherwise it
    links the dashboard's stylesheet (its pages allow no inline style)."""
    css = (WEB / "static" / "invites.css").read_text(encoding="utf-8") if standalone else None
    return _templates.get_template("invites_sheet.html").render(
        drive=drive, cards=cards, title=title, inline_css=css)


def mail_merge_csv(cards: list[Invitation]) -> str:
    """One line per candidate: roll, name, contact, code, token, QR file."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(MAIL_MERGE_FIELDS)
    for card in cards:
        writer.writerow([_cell(card.person.roll or ""), _cell(card.person.name),
                         _cell(card.person.contact), card.code, card.token, card.qr_file])
    return out.getvalue()


def write_invitations(directory: Path, drive: dict[str, Any], cards: list[Invitation],
                      title: str | None) -> list[Path]:
    """Write `invitations.html`, `mail-merge.csv` and `qr/*.png` into `directory` (made
    private: they name candidates); return the paths written."""
    directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    (directory / "qr").mkdir(mode=0o700, exist_ok=True)
    written = []
    for card in cards:
        path = directory / card.qr_file
        card.qr().save(str(path), kind="png", scale=8, border=4)
        written.append(path)
    sheet = directory / "invitations.html"
    sheet.write_text(sheet_html(drive, cards, title, standalone=True), encoding="utf-8")
    merge = directory / "mail-merge.csv"
    merge.write_text(mail_merge_csv(cards), encoding="utf-8", newline="")
    return [sheet, merge, *written]
