"""Generate the sample data the local default serves.

cruft re-renders an existing repo without `_repo_dir`: its data is there already.
"""

import sys
from pathlib import Path

TEMPLATE_DIR = {{ cookiecutter._repo_dir | default("") | tojson }}

if TEMPLATE_DIR:
    sys.path.insert(0, str(Path(TEMPLATE_DIR).parent / "hooks"))
    from cookiecutter_hooks import platform_post_gen

    platform_post_gen(offline_store={{ cookiecutter.offline_store | tojson }})
