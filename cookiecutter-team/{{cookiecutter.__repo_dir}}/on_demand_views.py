"""On-demand feature views owned by team {{ cookiecutter.team_name }}.

Feast rebuilds each UDF in other processes from its source text with only `pd` and `np` in
scope: import inside the function and use no module-level helpers or constants.
"""

from feast import Field, RequestSource
from feast.on_demand_feature_view import on_demand_feature_view
from feast.types import Float64
from feast_federation import platform_view

{%- if cookiecutter.starter_view == "customer_features" %}

customer_features = platform_view("customer_features")

{{ cookiecutter.team_name }}_cart_request = RequestSource(
    name="{{ cookiecutter.team_name }}_cart_request",
    schema=[Field(name="current_cart_value", dtype=Float64)],
)


@on_demand_feature_view(
    sources=[customer_features, {{ cookiecutter.team_name }}_cart_request],
    schema=[Field(name="purchase_propensity_score", dtype=Float64)],
    mode="python",
    description="Chance that the customer completes a purchase now, between 0 and 1.",
)
def {{ cookiecutter.team_name }}_purchase_propensity(inputs: dict) -> dict:
    import math

    scores = []
    for purchases, avg_value, cart in zip(
        inputs["total_purchases"],
        inputs["avg_order_value"],
        inputs["current_cart_value"],
        strict=True,
    ):
        loyalty = math.log1p(purchases or 0) / 3
        cart_ratio = (cart or 0.0) / ((avg_value or 0.0) + (cart or 0.0) or 1.0)
        scores.append(round(1 / (1 + math.exp(-(loyalty + cart_ratio - 1) * 3)), 4))
    return {"purchase_propensity_score": scores}
{%- elif cookiecutter.starter_view == "driver_stats" %}

driver_stats = platform_view("driver_stats")

{{ cookiecutter.team_name }}_trip_request = RequestSource(
    name="{{ cookiecutter.team_name }}_trip_request",
    schema=[Field(name="trip_distance_km", dtype=Float64)],
)


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
{%- else %}

user_features = platform_view("user_features")

{{ cookiecutter.team_name }}_transaction_request = RequestSource(
    name="{{ cookiecutter.team_name }}_transaction_request",
    schema=[Field(name="transaction_amount", dtype=Float64)],
)


@on_demand_feature_view(
    sources=[user_features, {{ cookiecutter.team_name }}_transaction_request],
    schema=[
        Field(name="balance_after_transaction", dtype=Float64),
        Field(name="spend_ratio", dtype=Float64),
    ],
    mode="python",
    description="What the transaction does to the user's balance.",
)
def {{ cookiecutter.team_name }}_spend_profile(inputs: dict) -> dict:
    balances, ratios = [], []
    for balance, amount in zip(
        inputs["account_balance"], inputs["transaction_amount"], strict=True
    ):
        balance, amount = balance or 0.0, amount or 0.0
        balances.append(round(balance - amount, 2))
        ratios.append(round(amount / balance, 4) if balance > 0 else 1.0)
    return {"balance_after_transaction": balances, "spend_ratio": ratios}
{%- endif %}
