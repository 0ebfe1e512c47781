"""What a repo wants written, and its apply through the transaction: collecting the repo's
definitions (``collect``), references to platform views (``references``), the diff
(``diff``), the platform's and a team's plans (``platform``, ``team``), the platform
contract (``contract``), the ODFV serving check (``checks``), and the plan, apply and check
of one repo (``repos``)."""

from feast_federation.errors import RefusedError
from feast_federation.sync.platform import plan_platform
from feast_federation.sync.repos import apply, check, plan, planner
from feast_federation.sync.team import plan_team

__all__ = ["RefusedError", "apply", "check", "plan", "plan_platform", "plan_team", "planner"]
