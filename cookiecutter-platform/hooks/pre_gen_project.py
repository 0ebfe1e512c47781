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
        project={{ cookiecutter.project_name | tojson }},
        owners={{ cookiecutter.platform_owners | tojson }},
        registry={{ cookiecutter.registry | tojson }},
        online={{ cookiecutter.online_store | tojson }},
        offline={{ cookiecutter.offline_store | tojson }},
        server={{ cookiecutter.registry_server | tojson }},
    )
