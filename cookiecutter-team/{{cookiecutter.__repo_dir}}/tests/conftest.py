"""The tests need no registry and no credentials: platform views come from
platform_contract.json (refresh it with `feast-federation contract refresh .`)."""

import os

os.environ.setdefault("FEAST_FEDERATION_OFFLINE", "1")
