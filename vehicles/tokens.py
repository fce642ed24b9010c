"""Device tokens: how they are made, recognised and hashed.

A token is `dev_` followed by 32 random bytes from `secrets` (43 URL-safe characters), so 256 bits of
entropy. Only its SHA-256 is stored. A slow password hash (PBKDF2, Argon2) exists to make guessing a
*low-entropy* secret from its hash expensive; against a 256-bit random secret there is nothing to guess
(2**256 tries), so one fast, unsalted SHA-256 protects a stolen table just as well, and it lets
authentication find the credential by the hash's unique index in one SELECT on every request. Looking
up by the hash, rather than comparing secrets, leaves no secret-dependent comparison to time.
"""

import hashlib
import re
import secrets

TOKEN_PREFIX = "dev_"
TOKEN_BYTES = 32
# The prefix, then exactly what token_urlsafe(32) makes: 43 characters of the URL-safe base64 alphabet.
_TOKEN_RE = re.compile(rf"^{TOKEN_PREFIX}[A-Za-z0-9_-]{{43}}$")


def device_token_new() -> str:
    """A fresh device token: shown once to the user who asked for it, never stored."""
    return TOKEN_PREFIX + secrets.token_urlsafe(TOKEN_BYTES)


def device_token_well_formed(token: str) -> bool:
    """Whether `token` has the shape of a device token (anything else is refused before any query)."""
    return _TOKEN_RE.fullmatch(token) is not None


def device_token_hash(token: str) -> str:
    """What is stored and looked up: the token's SHA-256, 64 hex digits."""
    return hashlib.sha256(token.encode()).hexdigest()
