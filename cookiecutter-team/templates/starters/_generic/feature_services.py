{%- set team = cookiecutter.team_name -%}
from on_demand_views import {{ team }}_score

# What the team's model fetches online, in one call.
{{ team }}_model = FeatureService(
    name="{{ team }}_model",
    features=[
        platform_view({{ cookiecutter.starter_view | tojson }}),
        {{ team }}_score,
    ],
    description="Features of the team's model.",
)
