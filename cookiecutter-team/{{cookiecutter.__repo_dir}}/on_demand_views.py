"""On-demand feature views owned by team {{ cookiecutter.team_name }}.

Feast rebuilds each UDF in other processes from its source text with only `pd` and `np` in
scope: import inside the function and use no module-level helpers or constants.
"""

from feast import Field, RequestSource
from feast.on_demand_feature_view import on_demand_feature_view
from feast.types import Float64
from feast_federation import platform_view

{% include "starters/" ~ (cookiecutter.__starter | fromjson).folder ~ "/on_demand_views.py" -%}
