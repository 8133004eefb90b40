"""Interview templates: the TOML format, its checker and the bundled interviews."""

from kiosk.templates.bundled import bundled_template_paths, find_template
from kiosk.templates.loader import FORMAT_VERSION, load_template, parse_template
from kiosk.templates.model import (
    AnswerMode,
    Competency,
    Indicator,
    InterviewTemplate,
    LocalText,
    Policy,
    Practice,
    Question,
)

__all__ = [
    "FORMAT_VERSION",
    "AnswerMode",
    "Competency",
    "Indicator",
    "InterviewTemplate",
    "LocalText",
    "Policy",
    "Practice",
    "Question",
    "bundled_template_paths",
    "find_template",
    "load_template",
    "parse_template",
]
