"""Refuse a bad value before anything is written; the rules are feast_federation's.

It runs in cookiecutter's own process while this script is rendered (federation_hook, from
the template's Jinja extension), so a refusal is one line; the script has nothing left to do.
"""
{{ federation_hook("team_pre_gen", cookiecutter, cookiecutter.__repo_dir) }}
