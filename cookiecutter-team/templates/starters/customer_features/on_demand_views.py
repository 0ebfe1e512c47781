# The platform view the starter builds on, read from the shared registry: only the
# features the ODFV reads (Feast reads and converts every feature of a source for
# every request).
customer_features = platform_view("customer_features", ["total_purchases", "avg_order_value"])

# Request data: what the caller sends with each online request.
{{ cookiecutter.team_name }}_cart_request = RequestSource(
    name="{{ cookiecutter.team_name }}_cart_request",
    schema=[Field(name="current_cart_value", dtype=Float64)],
)


# Chance of a purchase now, from the customer's history and the cart.
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
