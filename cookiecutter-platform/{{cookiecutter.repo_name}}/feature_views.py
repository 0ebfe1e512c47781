"""Feature views the platform serves to every team."""

from datetime import timedelta

from feast import FeatureView, Field
from feast.types import Float32, Float64, Int64

from data_sources import customer_features_source, driver_stats_source, user_features_source
from entities import customer, driver, user

OWNER = {{ cookiecutter.platform_owners.replace(",", " ").split()[0] | tojson }}

user_features = FeatureView(
    name="user_features",
    entities=[user],
    ttl=timedelta(days=30),
    schema=[
        Field(name="age", dtype=Int64, description="Age in years."),
        Field(name="account_balance", dtype=Float64, description="Balance in EUR."),
    ],
    source=user_features_source,
    description="Profile facts about each user.",
    owner=OWNER,
)

driver_stats = FeatureView(
    name="driver_stats",
    entities=[driver],
    ttl=timedelta(days=7),
    schema=[
        Field(name="conv_rate", dtype=Float32, description="Share of offers accepted."),
        Field(name="acc_rate", dtype=Float32, description="Share of trips completed."),
    ],
    source=driver_stats_source,
    description="Hourly driver performance.",
    owner=OWNER,
)

customer_features = FeatureView(
    name="customer_features",
    entities=[customer],
    ttl=timedelta(days=30),
    schema=[
        Field(name="total_purchases", dtype=Int64, description="Orders placed so far."),
        Field(name="avg_order_value", dtype=Float64, description="Mean order value in EUR."),
    ],
    source=customer_features_source,
    description="Purchase history per customer.",
    owner=OWNER,
)
