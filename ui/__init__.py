"""The PySide6 kiosk window: candidate screens and the staff console, thin views over `kiosk`."""

# Before any widget exists: a Qt binding that drops references to None must not be able
# to abort the kiosk (see ui/qt_binding.py).
from ui import qt_binding as _qt_binding  # noqa: F401
