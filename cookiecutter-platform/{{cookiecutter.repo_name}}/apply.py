"""Sync this repo into the shared registry (full sync of the platform's objects only).

    python apply.py --plan    show what would change, write nothing
    python apply.py           apply it
"""

from feast_federation.cli import run_repo_script

if __name__ == "__main__":
    run_repo_script(__file__)
