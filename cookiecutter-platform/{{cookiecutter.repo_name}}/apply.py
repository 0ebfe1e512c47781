"""Sync this repo into the shared registry: a full sync of the platform's objects only.

Run `python apply.py --plan` to see what would change without writing, `python apply.py` to
apply it. Team objects are never touched.
"""

from feast_federation.cli import run_repo_script

if __name__ == "__main__":
    run_repo_script(__file__)
