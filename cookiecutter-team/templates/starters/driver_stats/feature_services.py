from on_demand_views import {{ cookiecutter.team_name }}_driver_quality

# What the dispatch model fetches online, in one call.
{{ cookiecutter.team_name }}_dispatch_model = FeatureService(
    name="{{ cookiecutter.team_name }}_dispatch_model",
    features=[
        platform_view("driver_stats", ["conv_rate", "acc_rate"]),
        {{ cookiecutter.team_name }}_driver_quality,
    ],
    description="Features of the dispatch model.",
)
