"""Refuse a bad project name or owner list before anything is written."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path({{ cookiecutter._repo_dir | tojson }}).parent / "hooks"))

from cookiecutter_hooks import platform_pre_gen  # noqa: E402

platform_pre_gen({{ cookiecutter.project_name | tojson }}, {{ cookiecutter.platform_owners | tojson }})
