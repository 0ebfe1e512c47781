"""References by name, and which pinned versions an org can serve. Standard library only.

A FeatureService's ``features`` may hold strings (Feast 0.67 resolves them at apply time):
``"view"`` (the whole view), ``"view:feature"``, ``"view@v2"`` and ``"view@v2:feature"`` (a
pinned version: the view as version 2 defined it), ``"view@latest:feature"``, and the same
for ODFVs. ``parse_reference`` reads them as Feast does (``feast.utils.
_parse_feature_or_view_ref``; a test holds the two together), so the offline check, which
never imports Feast, reads the same references the apply resolves.

Feast 0.67 keeps a version history for every feature view (a schema change makes v1, v2,
...). It serves a pinned version only when the registry enables it
(``enable_online_feature_view_versioning``), never through a registry server, and only
from some online stores: measured, sqlite, postgres, redis and dynamodb (Feast refuses a
pinned read from the others this project bakes: datastore and bigtable).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

VERSIONING_SETTING = "enable_online_feature_view_versioning"
# Online stores that served a pinned version (view@vN) in Feast 0.67, measured.
PIN_SERVING_STORES = ("sqlite", "postgres", "redis", "dynamodb")
_VERSION = re.compile(r"^[vV](\d+)$")  # as Feast matches it (re.match)


@dataclass(frozen=True)
class Reference:
    """A string reference: ``view`` (a feature view or an ODFV), its pinned ``version``
    (None: the active one) and one ``feature`` (None: every feature)."""

    text: str
    view: str
    version: int | None = None
    feature: str | None = None

    @property
    def target(self) -> str:
        """The view as the reference names it: ``user_features`` or ``user_features@v1``."""
        return self.view if self.version is None else f"{self.view}@{version_tag(self.version)}"


def parse_reference(text: str) -> Reference:
    """``view[@version][:feature]``, read as Feast 0.67 reads it: an unrecognised version
    (``view@version1``) stays part of the view's name."""
    view, _, feature = text.partition(":")
    has_feature = ":" in text
    name, at, version = view.partition("@")
    if not at or not version or version.lower() == "latest":
        return Reference(text, name if at else view, None, feature if has_feature else None)
    match = _VERSION.match(version)
    if match is None:
        return Reference(text, view, None, feature if has_feature else None)
    return Reference(text, name, int(match[1]), feature if has_feature else None)


def version_tag(number: int) -> str:
    return f"v{number}"


def pin_refusal(online_store: str, registry_type: str, versioning: bool) -> str | None:
    """Why an org with these settings cannot serve a pinned version, or None if it can.

    ``online_store``: the online store's ``type``; ``registry_type``: the registry's;
    ``versioning``: the registry's ``enable_online_feature_view_versioning``.
    """
    if registry_type == "remote":
        return (
            "Feast 0.67 serves no pinned version through a registry server (its client "
            "cannot read a view's version history)"
        )
    if online_store not in PIN_SERVING_STORES:
        return (
            f"online store {online_store} does not serve pinned versions in Feast 0.67 "
            f"({', '.join(PIN_SERVING_STORES[:-1])} and {PIN_SERVING_STORES[-1]} do)"
        )
    if not versioning:
        return (
            f"the registry does not enable versioned reads (registry.{VERSIONING_SETTING}: "
            "true in feature_store.yaml; see the platform guide)"
        )
    return None
