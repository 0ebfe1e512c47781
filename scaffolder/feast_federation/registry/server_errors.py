"""Clear messages for what a registry server refuses.

Through ``feast serve_registry``, a denied write arrives as a FeastPermissionError whose
text lists every permission that did not match, and a rejected token as a bare gRPC
UNKNOWN ("Error in service handler!"). This module turns both into one line that says
who may not do what, or what is wrong with the token.
"""

from __future__ import annotations

import contextlib
import os
import re
import time
from collections.abc import Iterator

from feast_federation.errors import FederationError, PartWayFailure
from feast_federation.registry.engine_errors import explain as explain_engine
from feast_federation.rules.ownership import describe_owner

_DENIED = re.compile(r"denied execution of \[([^\]]*)\] to (\w+):([^:,\s]+)")
# Of the actions a request needs, the one worth naming: an update also needs DESCRIBE.
_SIGNIFICANT = ("DELETE", "CREATE", "UPDATE")


@contextlib.contextmanager
def translated(store, owner: str) -> Iterator[None]:
    """Re-raise registry-server refusals as FederationErrors naming the rule broken, and
    failures of the engines behind the store (engine_errors) as one line each."""
    remote = store.config.registry.registry_type == "remote"
    try:
        yield
    except PartWayFailure as exc:
        # A write that failed part-way says so; the engine's failure says why.
        engine = explain_engine(exc.cause)
        if engine is None:
            raise
        raise exc.explained(engine) from None
    except FederationError:
        raise
    except Exception as exc:
        message = (_explain(store, owner, exc) if remote else None) or explain_engine(exc)
        if message is None:
            raise
        raise FederationError(message) from None


def _explain(store, owner: str, exc: Exception) -> str | None:
    text = str(exc)
    denied = _DENIED.search(text)
    if type(exc).__name__ == "FeastPermissionError" and denied:
        actions, kind, name = denied.groups()
        requested = re.findall(r"\w+", actions)
        action = next((a for a in _SIGNIFICANT if a in requested), requested[0])
        return (
            f"permission denied: {describe_owner(owner)} may not {action} {kind} {name} "
            "with this token (the registry server's policy)"
        )
    if "StatusCode.UNAVAILABLE" in text:
        return f"the registry server at {store.config.registry.path} is unreachable"
    if "StatusCode.UNKNOWN" in text or "StatusCode.UNAUTHENTICATED" in text:
        return f"the registry server rejected the token: {_token_problem(store)}"
    return None


def _token_problem(store) -> str:
    """What is wrong with the client's token, as far as the client can tell."""
    import jwt

    variable = getattr(store.config.auth_config, "token_env_var", None) or "the configured token"
    token = os.environ.get(variable, "") if variable != "the configured token" else ""
    if variable != "the configured token" and not token:
        return f"${variable} is empty"
    try:
        claims = jwt.decode(token, options={"verify_signature": False})
    except jwt.PyJWTError:
        return f"${variable} does not hold a JWT"
    expires = claims.get("exp")
    if isinstance(expires, (int, float)) and expires < time.time():
        ago = int(time.time() - expires)
        return f"the token in ${variable} expired {ago} s ago; get a fresh one"
    # Feast's server answers UNKNOWN both for a token it refuses and for its own errors.
    return (
        f"the token in ${variable} is not signed by the identity provider the server trusts, "
        "or its claims are invalid (or the server failed the request itself: see its log)"
    )
