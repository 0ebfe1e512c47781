from on_demand_views import {{ cookiecutter.team_name }}_spend_profile

# What the team's model fetches online, in one call.
{{ cookiecutter.team_name }}_model = FeatureService(
    name="{{ cookiecutter.team_name }}_model",
    features=[
        platform_view("user_features", ["age", "account_balance"]),
        {{ cookiecutter.team_name }}_spend_profile,
    ],
    description="Features of the team's model.",
)
