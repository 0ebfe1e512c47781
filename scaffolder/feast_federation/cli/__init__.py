"""The ``feast-federation`` command, and the entry point of every generated ``apply.py``.

``commands`` holds the commands (thin: parse, call the library, show); ``output`` all
rendering; ``demo`` the main job. Commands that bake or register never import Feast.
"""

from feast_federation.cli.commands import app, main, run_repo_script

__all__ = ["app", "main", "run_repo_script"]
