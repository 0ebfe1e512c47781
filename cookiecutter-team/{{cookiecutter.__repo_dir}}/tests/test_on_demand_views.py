{%- set team = cookiecutter.team_name -%}
"""Each ODFV must work where Feast really runs it: rebuilt from its source in a fresh process."""

from feast_federation.testing import transform_in_fresh_process
{%- if cookiecutter.starter_view == "customer_features" %}

from on_demand_views import {{ team }}_purchase_propensity


def test_purchase_propensity_serves_in_a_fresh_process():
    outputs = transform_in_fresh_process(
        {{ team }}_purchase_propensity,
        {
            "total_purchases": [40, 0, None],
            "avg_order_value": [55.0, 20.0, None],
            "current_cart_value": [120.0, 5.0, 10.0],
        },
    )
    loyal, new, unknown = outputs["purchase_propensity_score"]
    assert 0.0 <= new < loyal <= 1.0
    assert 0.0 <= unknown <= 1.0
{%- elif cookiecutter.starter_view == "driver_stats" %}

from on_demand_views import {{ team }}_driver_quality


def test_driver_quality_serves_in_a_fresh_process():
    outputs = transform_in_fresh_process(
        {{ team }}_driver_quality,
        {"conv_rate": [0.9, 0.9], "acc_rate": [0.95, 0.95], "trip_distance_km": [2.0, 80.0]},
    )
    short_trip, long_trip = outputs["driver_quality_score"]
    assert 0.0 < long_trip < short_trip <= 1.0
{%- else %}

from on_demand_views import {{ team }}_spend_profile


def test_spend_profile_serves_in_a_fresh_process():
    outputs = transform_in_fresh_process(
        {{ team }}_spend_profile,
        {"account_balance": [500.0, 0.0], "transaction_amount": [100.0, 20.0]},
    )
    assert outputs["balance_after_transaction"] == [400.0, -20.0]
    assert outputs["spend_ratio"] == [0.2, 1.0]
{%- endif %}
