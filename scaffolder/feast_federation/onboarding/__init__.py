"""Creating repos and registering teams, never importing Feast.

- ``specs``: what a new repo is made from, a ``PlatformSpec`` or a ``TeamSpec``, checked
  once when built (by the CLI, or by a template hook from cookiecutter's context) and passed
  whole to everything below.
- ``bake``: baking the bundled templates from a spec, where a new repo may go, and what the
  template hooks finish (a team's registration among it).
- ``templates``: where the templates are, and the cruft link of a baked repo.
- ``starters``: the platform view a team's starter builds on.
- ``team_config``: a team's configuration derived from the platform's.
- ``ci_secrets``, ``k8s_secrets``: the variables of generated pipelines and manifests.
"""

from feast_federation.onboarding.bake import (
    bake_org,
    bake_platform,
    bake_platform_repo,
    bake_team,
    bake_team_repo,
    bootstrap_org,
    check_outside_feature_repos,
    finish_platform_repo,
    finish_team_repo,
)
from feast_federation.onboarding.specs import (
    DEFAULT_FEDERATION_REPO_URL,
    DEFAULT_FEDERATION_REQUIREMENT,
    DEFAULT_PLATFORM_REPO_REF,
    DEFAULT_PLATFORM_REPO_URL,
    DEFAULT_REGISTRY_SERVER_ADDRESS,
    PlatformSpec,
    TeamSpec,
    handed_over,
)
from feast_federation.onboarding.templates import templates_root

__all__ = [
    "DEFAULT_FEDERATION_REPO_URL",
    "DEFAULT_FEDERATION_REQUIREMENT",
    "DEFAULT_PLATFORM_REPO_REF",
    "DEFAULT_PLATFORM_REPO_URL",
    "DEFAULT_REGISTRY_SERVER_ADDRESS",
    "PlatformSpec",
    "TeamSpec",
    "bake_org",
    "bake_platform",
    "bake_platform_repo",
    "bake_team",
    "bake_team_repo",
    "bootstrap_org",
    "check_outside_feature_repos",
    "finish_platform_repo",
    "finish_team_repo",
    "handed_over",
    "templates_root",
]
