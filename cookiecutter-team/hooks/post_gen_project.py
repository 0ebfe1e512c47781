"""Copy the platform's shared settings into the new repo and register the team."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path({{ cookiecutter._repo_dir | tojson }}).parent / "hooks"))

from cookiecutter_hooks import team_post_gen  # noqa: E402

team_post_gen(
    {{ cookiecutter.team_name | tojson }},
    {{ cookiecutter.owners | tojson }},
    {{ cookiecutter.platform_dir | tojson }},
    {{ cookiecutter._output_dir | tojson }},
    {{ cookiecutter.registry_server | tojson }},
)
