"""Free-text values a user types (owners, paths, URLs, versions) checked before they reach a
template, a YAML file or a CODEOWNERS line. Standard library only.

Cookiecutter renders every value it is handed as a Jinja template before baking, so a value
holding ``{{``, ``{%`` or ``{#`` would run as code: such values are refused, never escaped,
because no user value here has a reason to hold them. Control characters would split one
value into several lines of a generated file.
"""

from __future__ import annotations

import re

from feast_federation.errors import OwnershipError

TEMPLATE_MARKERS = ("{{", "{%", "{#")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
URL_PATTERN = re.compile(r"(?:(?:https?|ssh|git|file)://|git@)[^\s'\"{}<>\\`$;|&]+")
VERSION_PATTERN = re.compile(r"[0-9][0-9A-Za-z.+!-]*")
# A branch, tag or commit. The Feast Operator pastes it unquoted into a shell command
# (`git checkout REF`), so nothing a shell would read specially, and no leading dash.
GIT_REF_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9._/-]{0,199}")
_NAME = r"[A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9])?"
_SPEC = r"(?:~=|===|==|!=|<=|>=|<|>)\s*[A-Za-z0-9.*+!_-]+"
# The PEP 508 requirements a generated requirements.txt may name feast-federation with: a
# name, optional extras, then version specifiers or ``@ URL``; no environment markers, no
# pip options, one line.
REQUIREMENT_PATTERN = re.compile(
    rf"(?P<name>{_NAME})\s*(?:\[\s*{_NAME}(?:\s*,\s*{_NAME})*\s*\])?\s*"
    rf"(?:{_SPEC}(?:\s*,\s*{_SPEC})*"
    r"|@\s*(?:git\+)?(?:https?|ssh|git|file)://[^\s'\"{}<>\\`$;|&]+)?"
)
REQUIRED_PROJECT = "feast-federation"
REPO_DIR_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,99}")
OWNER_PATTERNS = (
    re.compile(r"[A-Za-z0-9._%+'-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+"),  # an email address
    re.compile(r"@[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})"),  # a GitHub or GitLab user
    re.compile(r"@[A-Za-z0-9][A-Za-z0-9-]{0,38}/[A-Za-z0-9][A-Za-z0-9._-]{0,99}"),  # a team
)
ROLE_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:/@-]{0,127}")
# Where the platform's data lives: an absolute folder, or an object-store URI Feast's
# FileSource reads. It is joined into every source path the registry stores, so nothing a
# shell, YAML or TOML would read specially, and no spaces.
_PLAIN_PATH = r"[^\s'\"\\`$;|&{}<>]*"
DATA_LOCATION_PATTERN = re.compile(rf"(?:(?:s3|gs)://[a-z0-9][a-z0-9._-]*|/){_PLAIN_PATH}")


def shown(value: object) -> str:
    """A value as an error line shows it: quoted, escaped, and cut when long."""
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def check_plain_text(what: str, value: str) -> None:
    """Refuse a value that cookiecutter would run as a template, or that spans lines."""
    if any(marker in value for marker in TEMPLATE_MARKERS):
        raise OwnershipError(
            f"{what} {shown(value)}: {{{{, {{% and {{# are not allowed (cookiecutter would "
            "run the value as a template)"
        )
    if _CONTROL.search(value):
        raise OwnershipError(f"{what} {shown(value)}: control characters are not allowed")


def check_owner(owner: str) -> None:
    """One owner: an email address, ``@user`` or ``@org/team`` (what CODEOWNERS accepts)."""
    check_plain_text("owner", owner)
    if not any(pattern.fullmatch(owner) for pattern in OWNER_PATTERNS):
        raise OwnershipError(
            f"owner {shown(owner)}: use an email address, @user or @org/team, one per item"
        )


def check_owners(who: str, owners: object) -> None:
    if not isinstance(owners, (list, tuple)) or not all(isinstance(o, str) for o in owners):
        raise OwnershipError(f"{who}: owners must be a list of strings")
    for owner in owners:
        try:
            check_owner(owner)
        except OwnershipError as exc:
            raise OwnershipError(f"{who}: {exc}") from None


def check_role(who: str, role: object) -> None:
    if not isinstance(role, str) or not ROLE_PATTERN.fullmatch(role):
        raise OwnershipError(
            f"{who}: role {shown(role)} must be one string of letters, digits and . _ : / @ -"
        )


def check_url(what: str, url: str) -> None:
    check_plain_text(what, url)
    if not URL_PATTERN.fullmatch(url):
        raise OwnershipError(
            f"{what} {shown(url)}: expected a git URL (https://, ssh://, git://, file:// or "
            "git@host:path) without spaces, quotes or shell characters"
        )


def check_git_ref(what: str, ref: str) -> None:
    check_plain_text(what, ref)
    if not GIT_REF_PATTERN.fullmatch(ref) or ".." in ref or ref.endswith(("/", ".lock")):
        raise OwnershipError(
            f"{what} {shown(ref)}: expected a branch, tag or commit (letters, digits and "
            "'.', '_', '/', '-', starting with a letter or digit)"
        )


def check_requirement(what: str, requirement: str) -> None:
    """A PEP 508 requirement for feast-federation, as one line of requirements.txt:
    ``feast-federation==0.2.0``, ``feast-federation @ git+https://host/org/repo@v0.2.0``."""
    check_plain_text(what, requirement)
    found = REQUIREMENT_PATTERN.fullmatch(requirement)
    if not found:
        raise OwnershipError(
            f"{what} {shown(requirement)}: expected a requirement such as "
            f"{REQUIRED_PROJECT}==0.2.0 or {REQUIRED_PROJECT} @ git+https://host/org/repo@v0.2.0"
            " (no environment markers or pip options)"
        )
    if requirement_name(requirement) != REQUIRED_PROJECT:
        raise OwnershipError(
            f"{what} {shown(requirement)}: names {found.group('name')}, not {REQUIRED_PROJECT}"
        )


def requirement_name(line: str) -> str | None:
    """The normalized project name a requirement line names (PEP 503), if it names one."""
    found = re.match(_NAME, line.strip())
    return re.sub(r"[-_.]+", "-", found.group(0)).lower() if found else None


def check_version(what: str, version: str) -> None:
    if not VERSION_PATTERN.fullmatch(version):
        raise OwnershipError(f"{what} {shown(version)}: expected a version such as 0.1.0")


def check_repo_dir_name(what: str, name: str) -> None:
    """A directory name for a new repo: one path component, nothing that climbs out."""
    if not REPO_DIR_PATTERN.fullmatch(name) or name in (".", ".."):
        raise OwnershipError(
            f"{what} {shown(name)}: use letters, digits, '.', '_' and '-', starting with a "
            "letter or digit (one directory name)"
        )


# --- values shown in markdown (job summaries, catalogs) -----------------------------------

# Characters markdown or HTML would read as syntax, as HTML character references. ``_`` is
# left alone: inside a word it is no emphasis, and names are full of it.
_MARKDOWN_ENTITIES = {char: f"&#{ord(char)};" for char in "&<>|`*[]~\\#"}
# What makes a line a list item or a heading underline when it starts one.
_LINE_START = re.compile(r"^(\s*)([-+=]|\d+[.)])")


def _one_markdown_line(value: object) -> str:
    text = " ".join(str(value).splitlines())
    text = "".join(_MARKDOWN_ENTITIES.get(char, char) for char in text)
    return _LINE_START.sub(lambda m: m[1] + m[2][:-1] + f"&#{ord(m[2][-1])};", text)


def markdown_text(value: object) -> str:
    """``value`` as literal text on one line of GitHub-flavoured markdown, a table cell
    included: HTML and markdown syntax escaped, line breaks as spaces (a name holding a
    newline and ``<!--`` would otherwise hide every row after it)."""
    return _one_markdown_line(value)


def markdown_code(value: object) -> str:
    """``value`` as inline code on one line of markdown, a table cell included."""
    return f"<code>{_one_markdown_line(value)}</code>"


def markdown_fence(text: str) -> str:
    """A code fence longer than any run of backticks in ``text``, so it cannot be closed
    from inside."""
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    return "`" * max(3, longest + 1)


def check_data_location(what: str, location: str) -> None:
    """A data location: an absolute folder (``/srv/feast-data``) or an ``s3://`` or
    ``gs://`` URI, the same for every checkout of the repo and every runner."""
    check_plain_text(what, location)
    if not DATA_LOCATION_PATTERN.fullmatch(location):
        raise OwnershipError(
            f"{what} {shown(location)}: expected an absolute folder or an s3:// or gs:// URI "
            "(one every checkout reads alike), without spaces, quotes or shell characters"
        )
