"""The one error type a user sees: a single line naming the object and the rule."""


class FederationError(Exception):
    """A user-facing failure. The CLI prints ``error: <message>`` and exits 1; no traceback."""
