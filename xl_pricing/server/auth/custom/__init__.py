"""The ``custom`` auth provider: bearer tokens whose sha256 digests the operator lists.

``XL_PRICING_AUTH_TOKENS`` holds one entry per accepted token, separated by commas or
newlines: the token's sha256 hex digest, optionally followed by ``:`` and roles joined by
``+`` (``3f7a…c9:pricing+admin``).  The server keeps digests only, so its environment
never holds a usable token.  Excel sends the token in the ``Authorization`` header (set by
``globalThis.getAuth()`` in xlwings Server's ``static/js/auth.js``), as ``Bearer <token>``
or bare.

Make a token and its entry::

    python -c "import secrets,hashlib; t=secrets.token_urlsafe(32); print(t); \
print(hashlib.sha256(t.encode()).hexdigest())"
"""

from __future__ import annotations

import hashlib
import hmac
import os

from fastapi import status
from fastapi.exceptions import HTTPException
from xlwings_server.models import User

ENV = "XL_PRICING_AUTH_TOKENS"


def accepted() -> dict[str, list[str]]:
    """Accepted token digests → roles, from ``XL_PRICING_AUTH_TOKENS``."""
    out: dict[str, list[str]] = {}
    for entry in os.environ.get(ENV, "").replace("\n", ",").split(","):
        digest, _, roles = entry.strip().partition(":")
        if digest:
            out[digest.lower()] = [r for r in roles.split("+") if r]
    return out


async def validate_token(token_string: str) -> User:
    """The user a token stands for, or HTTP 401.

    Every listed digest is compared in constant time (``hmac.compare_digest``), so the
    answer's timing says nothing about which digest came close.
    """
    token = token_string.strip()
    if token.lower().startswith("bearer "):
        token = token[7:].strip()
    digest = hashlib.sha256(token.encode("utf-8")).hexdigest()
    found = None
    for i, (known, roles) in enumerate(accepted().items()):
        if hmac.compare_digest(digest, known) and token:
            found = (i, roles)
    if found is None:
        raise HTTPException(status_code=status.HTTP_401_UNAUTHORIZED,
                            detail="Authentication required: a valid token")
    return User(id=f"token-{found[0] + 1}", name=f"token {found[0] + 1}", roles=found[1])
