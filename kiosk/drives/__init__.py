"""Campus drives on the kiosk: the drives HQ assigned it, their invitations, scanning."""
