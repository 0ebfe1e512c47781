"""The Jinja extension both templates load (cookiecutter.json's ``_extensions``).

- Cookiecutter renders every value it is handed (``--no-input key=value``, a replay, a user
  config's defaults) as a template, so a value such as
  ``{{ cycler.__init__.__globals__.os.popen(...) }}`` would run as code: any template text
  that is not the templates' own is refused.
- ``federation_hook(name, cookiecutter)`` runs a hook of ``cookiecutter_hooks`` in
  cookiecutter's own process while the hook script is rendered, so that a refusal is one
  line (``FailedHookException``, which cookiecutter prints as it is) instead of a failed
  script followed by cookiecutter's traceback.

Standard library, Jinja and cookiecutter only: it runs under plain cookiecutter.
"""

from __future__ import annotations

import functools
import json
import logging
import sys
from pathlib import Path

from cookiecutter.exceptions import FailedHookException
from jinja2.ext import Extension

HOOKS = Path(__file__).resolve().parent
TEMPLATES = ("cookiecutter-platform", "cookiecutter-team")
MARKERS = ("{{", "{%", "{#")


class Refusal(FailedHookException):
    """A value or a hook refused the bake; ``refusal`` is the whole message."""

    def __init__(self, refusal: str):
        self.refusal = refusal
        super().__init__(f"error: {refusal}")


class RefuseTemplatedValues(Extension):
    def __init__(self, environment):
        super().__init__(environment)
        environment.globals["federation_hook"] = federation_hook
        environment.globals["federation_project"] = federation_project
        environment.globals["federation_starter_view"] = federation_starter_view
        environment.globals["federation_starter"] = federation_starter
        environment.globals["federation_environments"] = federation_environments
        environment.filters["fromjson"] = json.loads
        logging.getLogger("cookiecutter.hooks").addFilter(_without_refusals)

    def preprocess(self, source: str, name: str | None, filename: str | None = None) -> str:
        # Files of the template are loaded by name; values and paths come as bare strings.
        if name is None and any(m in source for m in MARKERS) and source not in _own_texts():
            raise Refusal(
                f"value {_shown(source)}: {{{{, {{% and {{# are not allowed "
                "(cookiecutter would run the value as a template)"
            )
        return source


def federation_hook(name: str, cookiecutter: dict, repo_dir: str) -> str:
    """Run hook ``name`` for the repo baked into ``repo_dir`` (under the output directory);
    cruft re-renders an existing repo (no ``_repo_dir``): skip then. A module the hook
    cannot import is a refusal naming what to install (cookiecutter then removes what a
    post-generation hook leaves), never a traceback."""
    if not cookiecutter.get("_repo_dir"):
        return ""
    sys.path.insert(0, str(HOOKS))
    try:
        import cookiecutter_hooks

        from feast_federation.errors import FederationError
    except ImportError as exc:
        raise Refusal(_missing(exc.name or str(exc))) from None
    try:
        project_dir = Path(cookiecutter.get("_output_dir", "."), repo_dir).absolute()
        getattr(cookiecutter_hooks, name)(cookiecutter, project_dir)
    except ImportError as exc:
        raise Refusal(_missing(exc.name or str(exc))) from None
    except FederationError as exc:
        raise Refusal(str(exc)) from None
    return ""


# What pip installs for a module the hooks import; anything else: feast-federation, which
# brings all of them.
_DISTRIBUTIONS = {"ruamel": "ruamel.yaml", "yaml": "PyYAML", "jinja2": "Jinja2"}


def _missing(module: str) -> str:
    top = module.partition(".")[0]
    install = _DISTRIBUTIONS.get(top, "feast-federation")
    return (
        f"the template's hooks need {top}, which the Python running cookiecutter lacks: "
        f"pip install {install}"
    )


def _without_refusals(record: logging.LogRecord) -> bool:
    """Cookiecutter logs a failed hook with its traceback before re-raising; a refusal has
    said everything already."""
    return not (record.exc_info and isinstance(record.exc_info[1], Refusal))


def federation_project(platform_dir: str) -> str:
    """The project the platform's federation.yaml names: the team repo's default, so that
    plain cookiecutter need not ask what the platform already says. Read by the policy's
    one reader (a key given twice is refused there, not guessed at here)."""
    hooks = _feast_federation_hooks()
    return hooks.federation_project(platform_dir) if hooks else ""


def federation_starter_view(platform_dir: str) -> str:
    """The default starter view: one of the platform's, from its platform_contract.json."""
    hooks = _feast_federation_hooks()
    return hooks.starter_view_default(platform_dir) if hooks else ""


def federation_starter(platform_dir: str, view: str) -> str:
    """The starter the team template renders for ``view`` (JSON: its folder, the view's
    numeric fields), kept in the context so a cruft update renders it without the platform."""
    hooks = _feast_federation_hooks()
    return hooks.starter(platform_dir, view) if hooks else ""


def federation_environments(platform_dir: str) -> str:
    """The platform's environments, in promotion order ("staging, production"; empty for
    one registry): every team repo of the org has the same."""
    hooks = _feast_federation_hooks()
    return hooks.environments_default(platform_dir) if hooks else ""


def _feast_federation_hooks():
    """The hooks module, whose rules are feast_federation's; None when that is not installed
    (the pre-generation hook then says so)."""
    if str(HOOKS) not in sys.path:
        sys.path.insert(0, str(HOOKS))
    try:
        import cookiecutter_hooks
    except ImportError:
        return None
    return cookiecutter_hooks


def _shown(text: str) -> str:
    return repr(text) if len(text) <= 60 else repr(text[:57] + "...")


@functools.cache
def _own_texts() -> frozenset[str]:
    """Every string the templates themselves hand to Jinja: cookiecutter.json's values,
    file and folder names (as any relative path), and the hook scripts."""
    texts: set[str] = set()
    for template in TEMPLATES:
        base = HOOKS.parent / template
        if not (base / "cookiecutter.json").is_file():  # a copy of one template only
            continue
        texts.update(_strings(json.loads((base / "cookiecutter.json").read_text("utf-8"))))
        for path in base.rglob("*"):
            parts = path.relative_to(base).parts
            texts.update("/".join(parts[i:]) for i in range(len(parts)))
        texts.update(hook.read_text("utf-8") for hook in (base / "hooks").glob("*.py"))
    return frozenset(texts)


def _strings(value: object) -> list[str]:
    if isinstance(value, dict):
        return [text for item in value.values() for text in _strings(item)]
    if isinstance(value, list):
        return [text for item in value for text in _strings(item)]
    return [value] if isinstance(value, str) else []
