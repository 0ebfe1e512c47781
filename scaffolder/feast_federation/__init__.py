"""feast-federation: many teams, one Feast feature store, nobody deleting anybody's objects.

Importing this package is cheap: Feast is imported only by the modules that talk to a
registry, so baking templates and registering teams never pay for it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from feast_federation.version import __version__

if TYPE_CHECKING:
    from feast_federation.registry.store import feature_store
    from feast_federation.sync.references import platform_view

__all__ = ["__version__", "feature_store", "platform_view"]


def __getattr__(name: str) -> Any:
    if name == "platform_view":
        from feast_federation.sync.references import platform_view

        return platform_view
    if name == "feature_store":
        from feast_federation.registry.store import feature_store

        return feature_store
    raise AttributeError(f"module 'feast_federation' has no attribute {name!r}")
