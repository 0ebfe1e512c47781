"""Creating repos and registering teams, never importing Feast: baking the bundled templates
(``bake``), where the templates are and their cruft links (``templates``), a team's
configuration derived from the platform's (``team_config``), and the CI variables of
generated pipelines (``ci_secrets``)."""

from feast_federation.onboarding.bake import (
    DEFAULT_PLATFORM_REPO_REF,
    DEFAULT_PLATFORM_REPO_URL,
    bake_platform,
    bake_team,
    bootstrap_org,
    check_new_platform,
    check_new_team,
    check_outside_feature_repos,
    finish_platform_repo,
    finish_team_repo,
)
from feast_federation.onboarding.templates import templates_root

__all__ = [
    "DEFAULT_PLATFORM_REPO_REF",
    "DEFAULT_PLATFORM_REPO_URL",
    "bake_platform",
    "bake_team",
    "bootstrap_org",
    "check_outside_feature_repos",
    "check_new_platform",
    "check_new_team",
    "finish_platform_repo",
    "finish_team_repo",
    "templates_root",
]
