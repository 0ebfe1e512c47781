from on_demand_views import {{ cookiecutter.team_name }}_purchase_propensity


def test_purchase_propensity_serves_in_a_fresh_process():
    outputs = transform_in_fresh_process(
        {{ cookiecutter.team_name }}_purchase_propensity,
        {
            "total_purchases": [40, 0, None],
            "avg_order_value": [55.0, 20.0, None],
            "current_cart_value": [120.0, 5.0, 10.0],
        },
    )
    loyal, new, unknown = outputs["purchase_propensity_score"]
    assert 0.0 <= new < loyal <= 1.0
    assert 0.0 <= unknown <= 1.0
