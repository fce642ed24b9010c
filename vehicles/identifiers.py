"""The shape of a vehicle's id (contract §1), in one place: validation and URL look-ups both use it."""

import re

VEHICLE_ID_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,63}$")
