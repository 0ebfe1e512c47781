"""The feature catalog: what the shared registry offers, who owns it, and who depends on it.

One read of the registry as protos (no ODFV is rebuilt), one model, three renderings:
JSON for tools, markdown for repos and wikis, and a self-contained HTML page with search.
"""

from __future__ import annotations

import html
import json

from feast_federation import registry
from feast_federation.files import gc_paused
from feast_federation.registry.protos import source_class_name, value_type_name
from feast_federation.rules.ownership import (
    FEATURE_SERVICE,
    INTERNAL_NAMES,
    ON_DEMAND_FEATURE_VIEW,
    PLATFORM,
    Policy,
)
from feast_federation.rules.policy import load_policy
from feast_federation.rules.repo import Repo
from feast_federation.rules.values import markdown_code, markdown_text
from feast_federation.sync.team import published_for


def build(repo: Repo) -> dict:
    """The catalog of the repo's project, as plain data: a team repo reads the policy the
    platform published into the registry, the platform repo its federation.yaml.

    One pass over the registry's objects: each owner is looked up once per object, and the
    services, ODFVs and usages are grouped as they are read, not searched per team or view.
    """
    with gc_paused():  # at 10,000 teams, a model of 100,000 values made in one go
        return _build(repo)


def _build(repo: Repo) -> dict:
    store = registry.open_store(repo.path)
    proto = registry.registry_proto(store)
    policy = load_policy(repo.path) if repo.is_platform else published_for(store, repo.owner, proto)
    project = store.project
    usages = registry.team_usages(proto, project, policy)
    users: dict[str, set[tuple[str, str, str, str]]] = {}
    for usage in usages:
        users.setdefault(usage.view, set()).add(
            (str(usage.user.kind), usage.user.name, usage.owner, _version(usage))
        )
    views = [_view(item, policy) for item in _in(proto.feature_views, project)]
    for view in views:
        view["used_by"] = [
            {"kind": k, "name": n, "team": t, "version": v}
            for k, n, t, v in sorted(users.get(view["name"], ()))
        ]
    sources = sorted(
        (item for item in proto.data_sources if item.project == project), key=lambda s: s.name
    )
    return {
        "project": project,
        "entities": [_entity(item, policy) for item in _in(proto.entities, project)
                     if item.spec.name not in INTERNAL_NAMES],
        "sources": [_source(item, policy) for item in sources
                    if policy.owner_of(item.name) == PLATFORM],
        "views": views,
        "teams": _teams(proto, project, policy, usages),
    }  # fmt: skip


def _version(usage) -> str:
    """The version a usage reads: a pinned one (``v1``), else ``latest`` (the active one)."""
    return "latest" if usage.version is None else f"v{usage.version}"


def _in(items, project: str) -> list:
    return sorted((item for item in items if item.spec.project == project), key=_name)


def _name(item) -> str:
    return item.spec.name


def _owner(name: str, explicit: str, policy: Policy) -> str:
    owner = policy.owner_of(name)
    if owner == PLATFORM:
        return explicit or ", ".join(policy.platform_owners) or "platform"
    return ", ".join(policy.teams[owner].owners) or owner


def _entity(item, policy: Policy) -> dict:
    spec = item.spec
    return {
        "name": spec.name,
        "join_keys": [spec.join_key],
        "value_type": value_type_name(spec.value_type),
        "description": spec.description,
        "owner": _owner(spec.name, spec.owner, policy),
    }


def _source(item, policy: Policy) -> dict:
    return {
        "name": item.name,
        "kind": source_class_name(item),
        "description": item.description,
        "owner": _owner(item.name, item.owner, policy),
    }


def duration(seconds: int) -> str:
    """``30 days``, ``1 day 6 h``, ``90 min``: a view's TTL as people write it."""
    days, rest = divmod(int(seconds), 86_400)
    hours, rest = divmod(rest, 3_600)
    minutes, secs = divmod(rest, 60)
    parts = [
        f"{days} day{'s' if days != 1 else ''}" if days else "",
        f"{hours} h" if hours else "",
        f"{minutes} min" if minutes else "",
        f"{secs} s" if secs else "",
    ]
    return " ".join(part for part in parts if part)


def _view(item, policy: Policy) -> dict:
    spec = item.spec
    return {
        "name": spec.name,
        "entities": [entity for entity in spec.entities if entity not in INTERNAL_NAMES],
        "features": [
            {
                "name": f.name,
                "type": value_type_name(f.value_type),
                "description": f.description,
            }
            for f in spec.features
        ],
        "ttl": duration(spec.ttl.seconds) if spec.ttl.seconds else "none",
        "source": spec.batch_source.name,
        "description": spec.description,
        "owner": _owner(spec.name, spec.owner, policy),
    }


def _teams(proto, project: str, policy: Policy, usages: list) -> list[dict]:
    reads: dict[str, list[str]] = {}
    for usage in usages:
        reads.setdefault(usage.user.name, []).extend(
            f"{usage.target}:{feature}" for feature in sorted(usage.features)
        )
    services: dict[str, list[dict]] = {}
    for item in _in(proto.feature_services, project):
        spec = item.spec
        services.setdefault(policy.owner_of(spec.name), []).append(
            {"name": spec.name, "description": spec.description,
             "reads": sorted(reads.get(spec.name, []))}
        )  # fmt: skip
    odfvs: dict[str, list[dict]] = {}
    for item in _in(proto.on_demand_feature_views, project):
        spec = item.spec
        odfvs.setdefault(policy.owner_of(spec.name), []).append(
            {"name": spec.name, "description": spec.description,
             "reads": sorted(reads.get(spec.name, [])),
             "outputs": [f.name for f in spec.features]}
        )  # fmt: skip
    return [
        {"name": team.name, "prefix": team.prefix, "owners": list(team.owners),
         "services": services.get(team.name, []), "on_demand_views": odfvs.get(team.name, [])}
        for team in sorted(policy.teams.values(), key=lambda t: t.name)
    ]  # fmt: skip


# --- renderings ----------------------------------------------------------------------------


def to_json(catalog: dict) -> str:
    return json.dumps(catalog, indent=2)


def to_markdown(catalog: dict) -> str:
    """Every name and description escaped (``markdown_text``, ``markdown_code``): what a
    team wrote never ends a table, a heading or a block early, nor hides what follows."""
    text, code = markdown_text, markdown_code
    lines = [
        f"# Feature catalog: project {text(catalog['project'])}",
        "",
        "## Platform feature views",
        "",
    ]
    for view in catalog["views"]:
        users = (
            ", ".join(
                f"{text(u['name'])} (team {text(u['team'])}{_pin(u)})" for u in view["used_by"]
            )
            or "nobody yet"
        )
        lines += [
            f"### {code(view['name'])}",
            "",
            f"{text(view['description'])}  ",
            f"Entities: {text(', '.join(view['entities']))}; TTL {text(view['ttl'])}; source "
            f"{code(view['source'])}; owner {text(view['owner'])}.  ",
            f"Used by: {users}.",
            "",
            "| feature | type | description |",
            "| --- | --- | --- |",
            *(
                f"| {code(f['name'])} | {text(f['type'])} | {text(f['description'])} |"
                for f in view["features"]
            ),
            "",
        ]
    lines += ["## Entities", "", "| entity | join keys | type | owner | description |",
              "| --- | --- | --- | --- | --- |"]  # fmt: skip
    lines += [
        f"| {code(e['name'])} | {text(', '.join(e['join_keys']))} | {text(e['value_type'])} | "
        f"{text(e['owner'])} | {text(e['description'])} |"
        for e in catalog["entities"]
    ]
    lines += ["", "## Data sources", "", "| source | kind | owner |", "| --- | --- | --- |"]
    lines += [
        f"| {code(s['name'])} | {text(s['kind'])} | {text(s['owner'])} |"
        for s in catalog["sources"]
    ]
    lines += ["", "## Teams", ""]
    for team in catalog["teams"]:
        owners = text(", ".join(team["owners"])) or "none listed"
        lines += [f"### Team {text(team['name'])} ({code(team['prefix'] + '*')}, owners {owners})",
                  ""]  # fmt: skip
        for kind, key in (
            (FEATURE_SERVICE, "services"),
            (ON_DEMAND_FEATURE_VIEW, "on_demand_views"),
        ):
            for item in team[key]:
                description = text((item["description"] or "No description").rstrip("."))
                reads = text(", ".join(item["reads"])) or "nothing"
                lines.append(f"- {kind} {code(item['name'])}: {description}. Reads {reads}.")
        lines.append("")
    return "\n".join(lines)


def _pin(user: dict) -> str:
    return "" if user["version"] == "latest" else f", pins {user['version']}"


def to_html(catalog: dict) -> str:
    """One self-contained page: inline style and script, no CDN; filter with the search box
    or a #search=term link."""
    rows = []
    for view in catalog["views"]:
        users = ", ".join(f"{u['name']} ({u['team']}{_pin(u)})" for u in view["used_by"]) or "-"
        for feature in view["features"]:
            description = feature["description"] or view["description"]
            reference = f"{view['name']}:{feature['name']}"
            rows.append(("feature", reference, feature["type"], description, view["owner"], users))
    for team in catalog["teams"]:
        for service in team["services"]:
            rows.append(("service", service["name"], f"team {team['name']}",
                         service["description"], ", ".join(team["owners"]),
                         ", ".join(service["reads"])))  # fmt: skip
        for odfv in team["on_demand_views"]:
            rows.append(("on-demand view", odfv["name"], f"team {team['name']}",
                         odfv["description"], ", ".join(team["owners"]),
                         ", ".join(odfv["reads"])))  # fmt: skip
    body = "\n".join(
        "<tr>" + "".join(f"<td>{html.escape(str(cell))}</td>" for cell in row) + "</tr>"
        for row in rows
    )
    title = f"Feature catalog: {html.escape(catalog['project'])}"
    return _PAGE.format(title=title, body=body, count=len(rows))


_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{title}</title>
<style>
body {{ font-family: system-ui, sans-serif; margin: 2rem; color: #1d2330; }}
h1 {{ font-size: 1.5rem; }}
input {{ font-size: 1rem; padding: .4rem .6rem; width: 28rem; margin-bottom: 1rem; }}
table {{ border-collapse: collapse; width: 100%; }}
th, td {{ text-align: left; padding: .35rem .6rem; border-bottom: 1px solid #dde2ea; }}
th {{ background: #24476b; color: white; }}
tr.hidden {{ display: none; }}
td:first-child {{ color: #24476b; font-weight: 600; }}
</style></head>
<body>
<h1>{title}</h1>
<input id="search" type="search" placeholder="Search features, services, teams..." autofocus>
<p id="shown">{count} entries</p>
<table id="catalog"><thead><tr><th>what</th><th>name</th><th>type / team</th>
<th>description</th><th>owners</th><th>used by / reads</th></tr></thead>
<tbody>
{body}
</tbody></table>
<script>
const box = document.getElementById("search");
function filter() {{
  const term = box.value.toLowerCase();
  let shown = 0;
  for (const row of document.querySelectorAll("#catalog tbody tr")) {{
    const match = row.textContent.toLowerCase().includes(term);
    row.classList.toggle("hidden", !match);
    if (match) shown++;
  }}
  document.getElementById("shown").textContent = shown + " entries";
}}
box.addEventListener("input", filter);
const fromLink = new URLSearchParams(location.hash.slice(1)).get("search");
if (fromLink) {{ box.value = fromLink; filter(); }}
</script>
</body></html>
"""
