"""The CI systems' side of reviewed plans: fetching, on main, the plan the merged pull
(merge) request's check saved, through GitHub's or GitLab's API (``reviewed``). Standard
library only, no Feast."""
