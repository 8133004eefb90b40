"""Campus drives on the kiosk: invitations, the drive's roster, scanning."""
