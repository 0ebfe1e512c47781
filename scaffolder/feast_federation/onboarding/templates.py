"""The bundled templates: where they are, baking one, and the cruft link that lets a baked
repo follow the template's changes. Never imports Feast."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from feast_federation.errors import FederationError
from feast_federation.version import __version__

PLATFORM_TEMPLATE = "cookiecutter-platform"
TEAM_TEMPLATE = "cookiecutter-team"
PLATFORM_REPO_DIR = "{{cookiecutter.repo_name}}"  # the platform template's repo folder
TEMPLATES_VARIABLE = "FEAST_FEDERATION_TEMPLATES"
TEMPLATE_URL_VARIABLE = "FEAST_FEDERATION_TEMPLATE_URL"


def templates_root() -> Path:
    """Where the templates live: $FEAST_FEDERATION_TEMPLATES (an org's own fork), inside
    the installed package, or in a source checkout."""
    if os.environ.get(TEMPLATES_VARIABLE):
        return Path(os.environ[TEMPLATES_VARIABLE]).resolve()
    package = Path(__file__).resolve().parents[1]
    bundled = package / "templates"
    if (bundled / TEAM_TEMPLATE).is_dir():
        return bundled
    return package.parents[1]  # a source checkout: scaffolder/feast_federation


def bake(template: str, output_dir: Path, context: dict) -> Path:
    """Bake ``template`` into ``output_dir`` without prompts; its post-generation hook links
    the repo to the template (``link_to_template``), as it does under plain cookiecutter."""
    from cookiecutter.exceptions import CookiecutterException
    from cookiecutter.main import cookiecutter

    Path(output_dir).mkdir(parents=True, exist_ok=True)
    try:
        repo = Path(
            cookiecutter(
                str(templates_root() / template),
                no_input=True,
                extra_context=context,
                output_dir=str(output_dir),
            )
        )
    except CookiecutterException as exc:
        # A hook's refusal (template_guard.Refusal) is the whole message; cookiecutter
        # removed what it wrote.
        refusal = getattr(exc, "refusal", None)
        if isinstance(refusal, str):
            raise FederationError(refusal) from None
        raise FederationError(f"{template}: baking stopped ({exc})") from None
    return repo


def link_to_template(repo: Path, template: str, extra_context: dict) -> None:
    """Write .cruft.json, so `cruft check` / `cruft update` follow the template's changes:
    every repo that gets the weekly drift job gets it, whoever baked it (the template's
    post-generation hook calls this, under the CLI and plain cookiecutter alike)."""
    from cookiecutter.generate import generate_context
    from cookiecutter.prompt import prompt_for_config

    template_dir = templates_root() / template
    context = generate_context(
        context_file=str(template_dir / "cookiecutter.json"), extra_context=extra_context
    )
    # The template's Jinja extension is imported from its folder, as cookiecutter does.
    sys.path.insert(0, str(template_dir))
    try:
        rendered = prompt_for_config(context, no_input=True)
    finally:
        sys.path.remove(str(template_dir))
    url = os.environ.get(TEMPLATE_URL_VARIABLE) or rendered["federation_repo_url"]
    commit = _git_head(templates_root()) or f"v{__version__}"
    rendered.update({"_template": url, "_commit": commit})
    state = {
        "template": url,
        "commit": commit,
        "checkout": None,
        "context": {"cookiecutter": rendered},
        "directory": template,
        "skip": [".git"],
    }
    (repo / ".cruft.json").write_text(json.dumps(state, indent=2) + "\n", encoding="utf-8")


def _git_head(directory: Path) -> str | None:
    """The commit a source checkout of the templates is at, if it is one."""
    try:
        result = subprocess.run(
            ["git", "-C", str(directory), "rev-parse", "HEAD"],
            capture_output=True, text=True, timeout=10,
        )  # fmt: skip
    except (OSError, subprocess.TimeoutExpired):
        return None
    return result.stdout.strip() if result.returncode == 0 else None
