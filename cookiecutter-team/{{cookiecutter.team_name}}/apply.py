"""Apply this team's objects to the shared registry, validated against the platform's policy.

    python apply.py --plan    show what would change, write nothing
    python apply.py           apply: adds and updates this team's objects, deletes nothing
    python apply.py --prune   also delete this team's objects the repo no longer defines
"""

from feast_federation.cli import run_repo_script

if __name__ == "__main__":
    run_repo_script(__file__)
