from on_demand_views import {{ cookiecutter.team_name }}_driver_quality


def test_driver_quality_serves_in_a_fresh_process():
    outputs = transform_in_fresh_process(
        {{ cookiecutter.team_name }}_driver_quality,
        {"conv_rate": [0.9, 0.9], "acc_rate": [0.95, 0.95], "trip_distance_km": [2.0, 80.0]},
    )
    short_trip, long_trip = outputs["driver_quality_score"]
    assert 0.0 < long_trip < short_trip <= 1.0
