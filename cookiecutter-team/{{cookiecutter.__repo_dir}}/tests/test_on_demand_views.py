"""Each ODFV must work where Feast really runs it: rebuilt from its source in a fresh process."""

from pathlib import Path

from feast_federation.testing import odfv_serving_problems, transform_in_fresh_process

{% include "starters/" ~ (cookiecutter.__starter | fromjson).folder ~ "/test_on_demand_views.py" %}

def test_every_odfv_serves_rebuilt_from_its_proto():
    """Every ODFV this repo defines, run on inputs made from its sources' schemas."""
    assert odfv_serving_problems(Path(__file__).resolve().parents[1]) == []
