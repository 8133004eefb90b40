"""The kiosk's exception tree: every error the domain raises on purpose.

    KioskError                    anything the kiosk reports to a person
    ├── ConfigError               the data directory or settings cannot be used  (CLI exit 2)
    │   └── SettingsError         a settings file or value is invalid
    ├── TemplateError             an interview template has problems (carries each problem)
    └── FlowError                 the candidate flow refused an action; nothing changed
        ├── IllegalTransition     the action is not possible at the current step
        ├── InvalidInput          a value the candidate gave is not acceptable (names the field)
        ├── ConsentNeeded         "Continue" without a consent the interview needs (names them)
        ├── ResumeError           an interrupted session cannot be resumed by that code
        └── InvitationError       a drive invitation cannot be used here (`reason` says why)

The CLI turns each into a one-line message and exit status 1 (2 for ConfigError); the UI
maps each to a calm sentence for the candidate and the detail for staff. Later packages add
their own trees (VaultError, DeviceError, SyncError) under the same rule.
"""

from __future__ import annotations

from dataclasses import dataclass


class KioskError(Exception):
    """Base of every error the kiosk raises on purpose."""

    exit_status = 1


class ConfigError(KioskError):
    """The data directory, settings or environment cannot be used as given."""

    exit_status = 2


class SettingsError(ConfigError):
    """A settings file or a settings value is invalid."""


@dataclass(frozen=True)
class Problem:
    """One thing wrong in an input file, with where it is."""

    file: str
    line: int | None
    message: str

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line is not None else self.file
        return f"{where}: {self.message}"


class TemplateError(KioskError):
    """An interview template is unreadable or invalid; `problems` lists every finding."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        first = str(problems[0]) if problems else "invalid template"
        more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
        super().__init__(first + more)


class FlowError(KioskError):
    """The candidate flow refused an action; its state is unchanged."""


class IllegalTransition(FlowError):
    """The action is not possible at the flow's current step."""


class InvalidInput(FlowError):
    """A value given to the flow is not acceptable; `field` names which one."""

    def __init__(self, field: str, message: str) -> None:
        self.field = field
        super().__init__(f"{field}: {message}")


class ConsentNeeded(FlowError):
    """The candidate went on without a consent the interview cannot do without.

    Nothing changed: the screen asks whether they meant to end (`decline_consent`) or want
    to go back. `missing` names the consents, in the order asked ("recording", "retention").
    """

    def __init__(self, missing: tuple[str, ...]) -> None:
        self.missing = missing
        super().__init__(f"the interview cannot go on without consent to "
                         f"{' and '.join(missing)}")


class ResumeError(FlowError):
    """An interrupted session cannot be resumed with the code given."""


class InvitationError(FlowError):
    """A campus-drive invitation (scanned or typed) cannot be used at this kiosk now.

    `reason` is one stable word for programs and logs ("malformed", "tampered", "expired",
    "other_drive", "not_on_roster", "used", "no_roster", "no_drive"); the message is a
    polite sentence for the candidate."""

    def __init__(self, reason: str, message: str) -> None:
        self.reason = reason
        super().__init__(message)
