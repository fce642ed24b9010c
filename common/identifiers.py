"""The vehicle id: one pattern for every app that takes one (a log's field, a URL, a registration).

Framework-free; `diagnostics.contract` re-exports these as part of the log's validation contract.
"""

import re
from typing import Final

VEHICLE_ID_MIN_LENGTH: Final = 1
VEHICLE_ID_MAX_LENGTH: Final = 64
VEHICLE_ID_PATTERN: Final = rf"^[A-Za-z0-9][A-Za-z0-9._:-]{{0,{VEHICLE_ID_MAX_LENGTH - 1}}}$"
VEHICLE_ID_RE: Final = re.compile(VEHICLE_ID_PATTERN)
"""Use fullmatch: with match or search, "$" would admit a trailing newline."""
VEHICLE_ID_INVALID: Final = (
    f"Must be {VEHICLE_ID_MIN_LENGTH}-{VEHICLE_ID_MAX_LENGTH} characters: letters, digits and . _ : - "
    "(starting with a letter or digit)."
)


def is_vehicle_id(value: object) -> bool:
    return isinstance(value, str) and VEHICLE_ID_RE.fullmatch(value) is not None
