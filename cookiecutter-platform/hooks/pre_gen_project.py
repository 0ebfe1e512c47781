"""Refuse a bad project name or owner list before anything is written.

cruft re-renders an existing repo without `_repo_dir`: nothing to check then.
"""

import sys
from pathlib import Path

TEMPLATE_DIR = {{ cookiecutter._repo_dir | default("") | tojson }}

if TEMPLATE_DIR:
    sys.path.insert(0, str(Path(TEMPLATE_DIR).parent / "hooks"))
    from cookiecutter_hooks import platform_pre_gen

    platform_pre_gen(
        {{ cookiecutter.project_name | tojson }},
        {{ cookiecutter.platform_owners | tojson }},
        {{ cookiecutter.registry | tojson }},
        {{ cookiecutter.online_store | tojson }},
        {{ cookiecutter.offline_store | tojson }},
        {{ cookiecutter.registry_server | tojson }},
    )
