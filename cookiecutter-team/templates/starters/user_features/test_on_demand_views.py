from on_demand_views import {{ cookiecutter.team_name }}_spend_profile


def test_spend_profile_serves_in_a_fresh_process():
    outputs = transform_in_fresh_process(
        {{ cookiecutter.team_name }}_spend_profile,
        {"account_balance": [500.0, 0.0], "transaction_amount": [100.0, 20.0]},
    )
    assert outputs["balance_after_transaction"] == [400.0, -20.0]
    assert outputs["spend_ratio"] == [0.2, 1.0]
