# The platform view the starter builds on, read from the shared registry: only the
# features the ODFV reads (Feast reads and converts every feature of a source for
# every request).
driver_stats = platform_view("driver_stats", ["conv_rate", "acc_rate"])

# Request data: what the caller sends with each online request.
{{ cookiecutter.team_name }}_trip_request = RequestSource(
    name="{{ cookiecutter.team_name }}_trip_request",
    schema=[Field(name="trip_distance_km", dtype=Float64)],
)


# How reliable the driver is for this trip, from the driver's rates and the distance.
@on_demand_feature_view(
    sources=[driver_stats, {{ cookiecutter.team_name }}_trip_request],
    schema=[Field(name="driver_quality_score", dtype=Float64)],
    mode="python",
    description="Reliability of the driver for this trip, between 0 and 1.",
)
def {{ cookiecutter.team_name }}_driver_quality(inputs: dict) -> dict:
    import math

    scores = []
    for conv_rate, acc_rate, distance in zip(
        inputs["conv_rate"], inputs["acc_rate"], inputs["trip_distance_km"], strict=True
    ):
        distance_penalty = math.exp(-(distance or 0.0) / 50)
        scores.append(round((conv_rate or 0.0) * (acc_rate or 0.0) * distance_penalty, 4))
    return {"driver_quality_score": scores}
