"""Feature services owned by team {{ cookiecutter.team_name }}: what its models fetch online."""

from feast import FeatureService
from feast_federation import platform_view

{% include "starters/" ~ (cookiecutter.__starter | fromjson).folder ~ "/feature_services.py" -%}
