"""How the kiosk looks: calm colours, large type, touch-sized targets (at least 48 px).

A high-contrast variant and a larger-text scale are settings staff can turn on.
"""

from __future__ import annotations

NORMAL = {"background": "#f6f4ef", "text": "#1d2430", "muted": "#4a5568",
          "accent": "#1f6f8b", "accent_text": "#ffffff", "danger": "#b42318",
          "card": "#ffffff", "border": "#d5d0c4"}
HIGH_CONTRAST = {"background": "#000000", "text": "#ffffff", "muted": "#ffffff",
                 "accent": "#ffd400", "accent_text": "#000000", "danger": "#ff6b6b",
                 "card": "#000000", "border": "#ffffff"}
FONTS = "'Noto Sans', 'Noto Sans Devanagari', 'DejaVu Sans', sans-serif"


def stylesheet(high_contrast: bool = False, scale: float = 1.0) -> str:
    """The application's Qt stylesheet."""
    c = HIGH_CONTRAST if high_contrast else NORMAL

    def px(size: float) -> str:
        return f"{round(size * scale)}px"

    return f"""
        QWidget {{ background: {c['background']}; color: {c['text']};
                   font-family: {FONTS}; font-size: {px(22)}; }}
        QLabel#title {{ font-size: {px(40)}; font-weight: 600; }}
        QLabel#prompt {{ font-size: {px(34)}; }}
        QLabel#muted {{ color: {c['muted']}; font-size: {px(20)}; }}
        QLabel#big {{ font-size: {px(96)}; font-weight: 700; }}
        QLabel#code {{ font-size: {px(44)}; font-weight: 700; }}
        QLabel#strong {{ font-weight: 700; }}
        QLabel#message {{ color: {c['accent']}; font-weight: 600; }}
        QLabel#recording {{ color: {c['danger']}; font-size: {px(26)}; font-weight: 700; }}
        QPushButton {{ min-height: {px(56)}; padding: 8px 32px;
                       border-radius: 12px; border: 2px solid {c['border']};
                       background: {c['card']}; }}
        QPushButton:focus {{ border: 3px solid {c['accent']}; }}
        QPushButton#primary {{ background: {c['accent']}; color: {c['accent_text']};
                               border-color: {c['accent']}; font-weight: 600; }}
        QPushButton:disabled {{ color: {c['muted']}; }}
        QLineEdit, QPlainTextEdit {{ min-height: {px(52)}; border: 2px solid {c['border']};
                                     border-radius: 8px; padding: 6px; background: {c['card']}; }}
        QCheckBox {{ spacing: 14px; min-height: {px(48)}; }}
        QCheckBox::indicator {{ width: {px(32)}; height: {px(32)}; }}
        QFrame#card {{ background: {c['card']}; border: 1px solid {c['border']};
                       border-radius: 16px; }}
        QFrame#card QLabel {{ background: transparent; }}
        #staff QWidget {{ font-size: {px(17)}; }}
        #staff QLabel#title {{ font-size: {px(30)}; font-weight: 600; }}
        #staff QLabel#message {{ color: {c['accent']}; font-weight: 600; }}
        #staff QPushButton {{ min-height: {px(32)}; padding: 4px 16px; }}
        #staff QLineEdit {{ min-height: {px(32)}; }}
    """
