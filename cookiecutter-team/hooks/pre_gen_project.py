"""Refuse a team name or owner list before anything is written; the rules are feast_federation's."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path({{ cookiecutter._repo_dir | tojson }}).parent / "hooks"))

from cookiecutter_hooks import team_pre_gen  # noqa: E402

team_pre_gen(
    {{ cookiecutter.team_name | tojson }},
    {{ cookiecutter.owners | tojson }},
    {{ cookiecutter.platform_dir | tojson }},
    {{ cookiecutter._output_dir | tojson }},
    {{ cookiecutter.project_name | tojson }},
)
