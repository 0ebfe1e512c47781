"""Plans and applies of one repo into the shared registry: collecting the repo's definitions
(``collect``), references to platform views (``references``), the plan model (``plans``),
the diff (``diff``), the platform's and a team's plans (``platform``, ``team``), saved
plans (``saved``) and the engine that locks, plans and writes (``engine``)."""

from feast_federation.errors import RefusedError
from feast_federation.sync.engine import apply, carry_out, check, plan
from feast_federation.sync.platform import plan_platform
from feast_federation.sync.team import REMOVAL_TAG, plan_team

__all__ = [
    "REMOVAL_TAG",
    "RefusedError",
    "apply",
    "carry_out",
    "check",
    "plan",
    "plan_platform",
    "plan_team",
]
