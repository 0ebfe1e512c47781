# The platform view the starter builds on, read from the shared registry: only the
# features the ODFV reads (Feast reads and converts every feature of a source for
# every request).
user_features = platform_view("user_features", ["account_balance"])

# Request data: what the caller sends with each online request.
{{ cookiecutter.team_name }}_transaction_request = RequestSource(
    name="{{ cookiecutter.team_name }}_transaction_request",
    schema=[Field(name="transaction_amount", dtype=Float64)],
)


# What the transaction does to the user's balance.
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
