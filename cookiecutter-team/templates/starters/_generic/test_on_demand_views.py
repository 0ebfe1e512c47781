{%- set team = cookiecutter.team_name -%}
{%- set fields = (cookiecutter.__starter | fromjson).numeric_fields -%}
from on_demand_views import {{ team }}_score


def test_score_serves_in_a_fresh_process():
    outputs = transform_in_fresh_process(
        {{ team }}_score,
        {
            "request_weight": [2.0, 2.0],
{%- for field in fields %}
            {{ field | tojson }}: [1, None],
{%- endfor %}
        },
    )
{%- if fields %}
    # Each numeric feature is 1 in the first row and missing (counted as 0) in the second.
    assert outputs["weighted_sum"] == [{{ 2.0 * fields | length }}, 0.0]
{%- else %}
    assert outputs["weighted_sum"] == [2.0, 2.0]
{%- endif %}
