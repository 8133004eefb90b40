"""The PySide6 kiosk window: candidate screens and the staff console, thin views over `kiosk`."""
