"""What a new org's owner should know before pushing it anywhere: one line each, said at
bootstrap (and written into the platform repo's README). Never imports Feast."""

from __future__ import annotations

from feast_federation.onboarding.specs import PlatformSpec
from feast_federation.rules.choices import (
    LOCAL_OFFLINE_STORES,
    LOCAL_REGISTRIES,
    OFFLINE_STORES,
    ONLINE_STORES,
    REGISTRIES,
)

PLACEHOLDER = "your-org"


def runner_choices() -> str:
    """The backend choices a CI runner (another machine) can reach."""
    registries = [choice for choice in REGISTRIES if choice not in LOCAL_REGISTRIES]
    online = [choice for choice in ONLINE_STORES if choice != "sqlite"]
    offline = [choice for choice in OFFLINE_STORES if choice not in LOCAL_OFFLINE_STORES]
    return (
        f"--registry {_either(registries)}, --online-store {_either(online)} and "
        f"--offline-store {_either(offline)}"
    )


def bootstrap_warnings(spec: PlatformSpec) -> list[str]:
    """A local registry with a generated pipeline, and placeholder URLs, each in one line."""
    warnings = []
    if spec.backends.registry in LOCAL_REGISTRIES and spec.ci != "none":
        warnings.append(
            f"registry {spec.backends.registry} is the local default, for one machine: its "
            f"files stay in {spec.repo_name}/data/ on this machine, so the generated "
            f"{spec.ci} jobs cannot reach it from a runner; for CI choose {runner_choices()} "
            "(or --ci none to keep it local)"
        )
    if PLACEHOLDER in spec.federation_repo_url:
        warnings.append(
            f".pre-commit-config.yaml and .cruft.json point at {spec.federation_repo_url}, a "
            "placeholder: pass --federation-repo-url with your copy of feast-federation "
            "(FEAST_FEDERATION_TEMPLATE_URL sets .cruft.json's alone)"
        )
    return warnings


def _either(choices: list[str]) -> str:
    return ", ".join(choices[:-1]) + f" or {choices[-1]}" if len(choices) > 1 else choices[0]
