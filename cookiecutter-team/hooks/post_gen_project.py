"""Copy the platform's shared settings into the new repo and register the team.

cruft re-renders an existing repo without `_repo_dir`: the team is registered already.
"""

import sys
from pathlib import Path

TEMPLATE_DIR = {{ cookiecutter._repo_dir | default("") | tojson }}

if TEMPLATE_DIR:
    sys.path.insert(0, str(Path(TEMPLATE_DIR).parent / "hooks"))
    from cookiecutter_hooks import team_post_gen

    team_post_gen(
        team={{ cookiecutter.team_name | tojson }},
        owners={{ cookiecutter.owners | tojson }},
        platform_dir={{ cookiecutter.platform_dir | tojson }},
        output_dir={{ cookiecutter._output_dir | default("") | tojson }},
        registry_server={{ cookiecutter.registry_server | tojson }},
        offline_schema={{ cookiecutter.offline_schema | tojson }},
    )
