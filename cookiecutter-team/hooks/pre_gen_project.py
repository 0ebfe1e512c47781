"""Refuse a team name or owner list before anything is written; the rules are feast_federation's.

cruft re-renders an existing repo without `_repo_dir`: the team exists, so nothing to check.
"""

import sys
from pathlib import Path

TEMPLATE_DIR = {{ cookiecutter._repo_dir | default("") | tojson }}

if TEMPLATE_DIR:
    sys.path.insert(0, str(Path(TEMPLATE_DIR).parent / "hooks"))
    from cookiecutter_hooks import team_pre_gen

    team_pre_gen(
        team={{ cookiecutter.team_name | tojson }},
        owners={{ cookiecutter.owners | tojson }},
        platform_dir={{ cookiecutter.platform_dir | tojson }},
        output_dir={{ cookiecutter._output_dir | default("") | tojson }},
        project={{ cookiecutter.project_name | tojson }},
        offline_schema={{ cookiecutter.offline_schema | tojson }},
    )
