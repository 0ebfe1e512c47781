from on_demand_views import {{ cookiecutter.team_name }}_purchase_propensity

# What the campaign targeting model fetches online, in one call.
{{ cookiecutter.team_name }}_campaign_model = FeatureService(
    name="{{ cookiecutter.team_name }}_campaign_model",
    features=[
        platform_view("customer_features", ["total_purchases", "avg_order_value"]),
        {{ cookiecutter.team_name }}_purchase_propensity,
    ],
    description="Features of the campaign targeting model.",
)
