"""Copy the platform's shared settings into the new repo and register the team.

It runs in cookiecutter's own process while this script is rendered (federation_hook, from
the template's Jinja extension), so a refusal is one line; the script has nothing left to do.
"""
{{ federation_hook("team_post_gen", cookiecutter, cookiecutter.__repo_dir) }}
