"""xlwings Server wiring: ``custom_functions/`` is the module xlwings Server imports,
``auth/custom`` the token check of ``--auth custom``, :mod:`.app` the app that is served.

xlwings Server (PolyForm Noncommercial or a paid xlwings licence) imports a top-level
``custom_functions`` module (and ``auth.<provider>`` overrides) from
``XLWINGS_PROJECT_DIR``; ``xl-pricing excel serve`` points that at this folder.  Nothing
here is imported unless the server runs.
"""

from __future__ import annotations

import ipaddress
import json
import os
from pathlib import Path

from ..errors import InputError

PROJECT_DIR = Path(__file__).resolve().parent
NAMESPACE = "XLP"
AUTH_CHOICES = ("none", "entraid", "custom")
TOKENS_ENV = "XL_PRICING_AUTH_TOKENS"


def server_environment(license_key: str | None) -> dict[str, str]:
    """Environment for an xlwings Server process serving the XLP functions."""
    env = {"XLWINGS_PROJECT_DIR": str(PROJECT_DIR), "XLWINGS_FUNCTIONS_NAMESPACE": NAMESPACE,
           "XLWINGS_ON_SERVER": "true"}
    if license_key:
        env["XLWINGS_LICENSE_KEY"] = license_key
    return env


def is_loopback(host: str) -> bool:
    """True for 127.0.0.1, ::1 and localhost: only this machine can connect.

    >>> is_loopback("127.0.0.1"), is_loopback("0.0.0.0"), is_loopback("localhost")
    (True, False, True)
    """
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def auth_environment(auth: str, host: str, *, client_id: str | None = None,
                     tenant_id: str | None = None, roles: list[str] | tuple[str, ...] = (),
                     allow_anonymous: bool = False,
                     environ: dict[str, str] | None = None) -> dict[str, str]:
    """xlwings Server's own auth settings (``XLWINGS_AUTH_*``) for ``--auth``.

    * ``entraid`` — Microsoft Entra ID tokens, checked by xlwings Server against the
      tenant's keys: needs the app registration's client id and the tenant id;
    * ``custom`` — bearer tokens listed (as sha256 digests) in ``XL_PRICING_AUTH_TOKENS``,
      checked by ``auth/custom`` in this folder;
    * ``none`` — every caller is "Anonymous": allowed on a loopback address only, unless
      ``allow_anonymous``.

    Required roles (``--required-role``) are passed as ``XLWINGS_AUTH_REQUIRED_ROLES``: a
    caller lacking one gets HTTP 403.

    Example:
        >>> auth_environment("entraid", "0.0.0.0", client_id="c", tenant_id="t",
        ...                  roles=["pricing"])["XLWINGS_AUTH_PROVIDERS"]
        '["entraid"]'
    """
    env_in = os.environ if environ is None else environ
    if auth not in AUTH_CHOICES:
        raise InputError("--auth", auth, "one of " + ", ".join(AUTH_CHOICES))
    if auth == "none":
        if roles:
            raise InputError("--required-role", roles[0], "an --auth provider to check it "
                             "(entraid or custom)")
        if not (is_loopback(host) or allow_anonymous):
            raise InputError("--auth", "none", f"entraid or custom when --host {host} is "
                             "reachable from other machines (or --allow-anonymous)")
        return {"XLWINGS_AUTH_PROVIDERS": "[]"}
    env = {"XLWINGS_AUTH_PROVIDERS": json.dumps([auth]),
           "XLWINGS_AUTH_REQUIRED_ROLES": json.dumps(list(roles))}
    if auth == "entraid":
        client_id = client_id or env_in.get("XLWINGS_AUTH_ENTRAID_CLIENT_ID")
        tenant_id = tenant_id or env_in.get("XLWINGS_AUTH_ENTRAID_TENANT_ID")
        if not client_id:
            raise InputError("--entraid-client-id", InputError.MISSING,
                             "the application (client) id of the Entra ID app registration")
        if not tenant_id:
            raise InputError("--entraid-tenant-id", InputError.MISSING,
                             "the directory (tenant) id of the university's Entra ID")
        env["XLWINGS_AUTH_ENTRAID_CLIENT_ID"] = client_id
        env["XLWINGS_AUTH_ENTRAID_TENANT_ID"] = tenant_id
    if auth == "custom" and not env_in.get(TOKENS_ENV, "").strip():
        raise InputError(TOKENS_ENV, InputError.MISSING, "the sha256 digests of the accepted "
                         "tokens, comma-separated (see README: Server)")
    return env
