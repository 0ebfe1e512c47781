{%- set team = cookiecutter.team_name -%}
{%- set view = cookiecutter.starter_view -%}
{%- set fields = (cookiecutter.__starter | fromjson).numeric_fields -%}
{%- set listed = fields | map("tojson") | join(", ") -%}
{#- The generated repo's ruff allows 100 columns: longer statements are split. -#}
{%- set max_line = 100 -%}
{%- if fields -%}
# The platform view the starter builds on, read from the shared registry: only the
# features the ODFV reads (Feast reads and converts every feature of a source for
# every request).
{% set one_line = view ~ " = platform_view(" ~ (view | tojson) ~ ", [" ~ listed ~ "])" -%}
{% if one_line | length <= max_line -%}
{{ one_line }}
{%- else -%}
{{ view }} = platform_view(
    {{ view | tojson }},
    [
{%- for field in fields %}
        {{ field | tojson }},
{%- endfor %}
    ],
)
{%- endif %}
{%- else -%}
# The platform view the starter builds on, read from the shared registry.
{% if (view ~ " = platform_view(" ~ (view | tojson) ~ ")") | length <= max_line -%}
{{ view }} = platform_view({{ view | tojson }})
{%- else -%}
{{ view }} = platform_view(
    {{ view | tojson }}
)
{%- endif %}
{%- endif %}

# Request data: what the caller sends with each online request.
{{ team }}_request = RequestSource(
    name="{{ team }}_request",
    schema=[Field(name="request_weight", dtype=Float64)],
)


# A starting point that shows the parts working together: replace the computation with what
# your model needs, and its test with one that pins that down.
@on_demand_feature_view(
    sources=[
        {{ view }},
        {{ team }}_request,
    ],
    schema=[Field(name="weighted_sum", dtype=Float64)],
    mode="python",
    description="The view's numeric features summed, times the request's weight.",
)
def {{ team }}_score(inputs: dict) -> dict:
{%- if fields %}
{%- if ("    features = [" ~ listed ~ "]") | length <= max_line %}
    features = [{{ listed }}]
{%- else %}
    features = [
{%- for field in fields %}
        {{ field | tojson }},
{%- endfor %}
    ]
{%- endif %}
    scores = []
    for row, weight in enumerate(inputs["request_weight"]):
        total = sum(inputs[feature][row] or 0 for feature in features)
        scores.append(round((weight or 0.0) * total, 4))
    return {"weighted_sum": scores}
{%- else %}
    # The view has no numeric feature to sum: the weight passes through.
    return {"weighted_sum": [weight or 0.0 for weight in inputs["request_weight"]]}
{%- endif %}
