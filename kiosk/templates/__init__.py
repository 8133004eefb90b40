"""Interview templates: the TOML format, its checker and the bundled interviews."""

from kiosk.templates.bundled import (
    DEMO_TEMPLATE_ID,
    HQ_TEMPLATES_DIR,
    bundled_template_paths,
    find_template,
    is_from_hq,
    template_paths,
)
from kiosk.templates.loader import FORMAT_VERSION, load_template, parse_template
from kiosk.templates.model import (
    AnswerMode,
    Competency,
    FollowUps,
    Indicator,
    InterviewTemplate,
    LocalText,
    Policy,
    Practice,
    Probe,
    Question,
)

__all__ = [
    "DEMO_TEMPLATE_ID",
    "FORMAT_VERSION",
    "HQ_TEMPLATES_DIR",
    "AnswerMode",
    "Competency",
    "FollowUps",
    "Indicator",
    "InterviewTemplate",
    "LocalText",
    "Policy",
    "Practice",
    "Probe",
    "Question",
    "bundled_template_paths",
    "find_template",
    "is_from_hq",
    "load_template",
    "parse_template",
    "template_paths",
]
