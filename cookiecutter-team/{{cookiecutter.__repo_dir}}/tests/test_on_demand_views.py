"""Each ODFV must work where Feast really runs it: rebuilt from its source in a fresh process."""

from feast_federation.testing import transform_in_fresh_process

{% include "starters/" ~ cookiecutter.starter_view ~ "/test_on_demand_views.py" -%}
