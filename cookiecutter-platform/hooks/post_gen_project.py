"""Wire the pipeline's variables and generate the sample data the local default serves.

It runs in cookiecutter's own process while this script is rendered (federation_hook, from
the template's Jinja extension), so a refusal is one line; the script has nothing left to do.
"""
{{ federation_hook("platform_post_gen", cookiecutter, cookiecutter.repo_name) }}
