"""Apply this team's objects to the shared registry, checked against the platform's policy.

Run `python apply.py --plan` to see what would change without writing, `python apply.py` to
add and update this team's objects (it deletes nothing), and `python apply.py --prune` to also
delete this team's objects that the repo no longer defines.
"""

from feast_federation.cli import run_repo_script

if __name__ == "__main__":
    run_repo_script(__file__)
