"""Feature services owned by team {{ cookiecutter.team_name }}: what its models fetch online."""

from feast import FeatureService
from feast_federation import platform_view
{%- if cookiecutter.starter_view == "customer_features" %}

from on_demand_views import {{ cookiecutter.team_name }}_purchase_propensity

{{ cookiecutter.team_name }}_campaign_model = FeatureService(
    name="{{ cookiecutter.team_name }}_campaign_model",
    features=[
        platform_view("customer_features", ["total_purchases", "avg_order_value"]),
        {{ cookiecutter.team_name }}_purchase_propensity,
    ],
    description="Features of the campaign targeting model.",
)
{%- elif cookiecutter.starter_view == "driver_stats" %}

from on_demand_views import {{ cookiecutter.team_name }}_driver_quality

{{ cookiecutter.team_name }}_dispatch_model = FeatureService(
    name="{{ cookiecutter.team_name }}_dispatch_model",
    features=[
        platform_view("driver_stats", ["conv_rate", "acc_rate"]),
        {{ cookiecutter.team_name }}_driver_quality,
    ],
    description="Features of the dispatch model.",
)
{%- else %}

from on_demand_views import {{ cookiecutter.team_name }}_spend_profile

{{ cookiecutter.team_name }}_model = FeatureService(
    name="{{ cookiecutter.team_name }}_model",
    features=[
        platform_view("user_features", ["age", "account_balance"]),
        {{ cookiecutter.team_name }}_spend_profile,
    ],
    description="Features of the team's model.",
)
{%- endif %}
