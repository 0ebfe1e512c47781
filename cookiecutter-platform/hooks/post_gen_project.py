"""Generate the sample data the local default serves."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path({{ cookiecutter._repo_dir | tojson }}).parent / "hooks"))

from cookiecutter_hooks import platform_post_gen  # noqa: E402

platform_post_gen()
