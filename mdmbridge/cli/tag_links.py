"""``tags link``, ``tags unlink`` and ``tags links``: one command each over every link
entity of the registry (device, user and group tags), so a link target or a link filter
added there shows up here with no CLI change.
"""

from __future__ import annotations

from typing import Any

import click

from mdmbridge import audit
from mdmbridge.cli.common import RAW, TENANT, command, namespace, show_record, show_records
from mdmbridge.cli.common import title as _title
from mdmbridge.cli.common import where as _where
from mdmbridge.cli.exits import EXIT_OK
from mdmbridge.cli.output import format_option
from mdmbridge.cli.records import filter_option
from mdmbridge.cli.state import State
from mdmbridge.entities import LINKS, Entity
from mdmbridge.fields import FilterField
from mdmbridge.models import TagLink

TARGETS: dict[str, Entity] = {target.value: entity for target, entity in LINKS.items()}
_TARGET = click.argument("target", type=click.Choice(list(TARGETS)))


def _filters() -> dict[str, tuple[FilterField, list[str]]]:
    """Each link filter, once, with the targets whose links it filters."""
    out: dict[str, tuple[FilterField, list[str]]] = {}
    for target, entity in TARGETS.items():
        for field in entity.filter_fields:
            out.setdefault(field.name, (field, []))[1].append(target)
    return out


def tag_link_commands() -> list[click.Command]:
    filters = _filters()

    def link(
        state: State, tenant: str, tag_id: str, fmt: str, raw: bool, **targets: str | None
    ) -> int:
        given = {name: value for name, value in targets.items() if value is not None}
        if len(given) != 1:
            flags = ", ".join(f"--{t}-id" for t in TARGETS)
            raise click.UsageError(f"give exactly one of {flags}")
        ((keyword, target_id),) = given.items()
        target = keyword.removesuffix("_id")
        with state.tenant(tenant).connect() as client:
            links = namespace(client, TARGETS[target])
            what = audit.AuditTarget(target, target_id)
            with _audited(client, f"tag.link-{target}", what, {"tag_id": tag_id}) as pending:
                record = links.link(**{keyword: target_id, "tag_id": tag_id})
                pending.params = {"tag_id": tag_id, "link_id": record.id}
        show_record(state, record, fmt, raw=raw)
        return EXIT_OK

    def unlink(state: State, tenant: str, target: str, link_id: str) -> int:
        where = state.tenant(tenant)
        with where.connect() as client:
            what = audit.AuditTarget(f"{target}_tag_link", link_id)
            with _audited(client, f"tag.unlink-{target}", what):
                namespace(client, TARGETS[target]).unlink(link_id)
        click.echo(f"unlinked {target} tag link {link_id} in tenant {_where(where)}")
        return EXIT_OK

    def list_links(
        state: State, tenant: str, target: str, fmt: str, raw: bool, **given: Any
    ) -> int:
        chosen = {k: v for k, v in given.items() if v is not None}
        for name in chosen:
            if target not in filters[name][1]:
                flag = "--" + name.replace("_", "-")
                owner = " or ".join(filters[name][1])
                raise click.UsageError(f"{flag} filters {owner} links, not {target} links")
        with state.tenant(tenant).connect(read_only=True) as client:
            found = namespace(client, TARGETS[target]).list(**chosen)
            heading = f"{target} tag links in {_title(client)}"
            show_records(state, TagLink, found, fmt, raw=raw, title=heading)
        return EXIT_OK

    target_options = [
        click.option(f"--{target}-id", f"{target}_id", default=None, help=f"the {target} to tag")
        for target in TARGETS
    ]
    filter_options = [
        filter_option(field, f"{' or '.join(targets)} links: {field.help}")
        for field, targets in filters.values()
    ]
    return [
        command(
            "link",
            "Link a tag to one device, user or group; prints the link.",
            link,
            TENANT,
            *target_options,
            click.option("--tag-id", required=True, help="the tag"),
            format_option(),
            RAW,
        ),
        command(
            "unlink",
            "Remove a tag link, by the link's own id (as `tags links` shows it).",
            unlink,
            TENANT,
            _TARGET,
            click.argument("link_id"),
        ),
        command(
            "links",
            "List tag links of devices, users or groups.",
            list_links,
            TENANT,
            _TARGET,
            *filter_options,
            format_option(),
            RAW,
        ),
    ]


def _audited(
    client: Any, action: str, target: audit.AuditTarget, params: dict[str, Any] | None = None
) -> audit.Pending:
    return audit.audited(
        audit.resolve(None),
        tenant=client.tenant,
        vendor=client.vendor,
        action=action,
        target=target,
        params=params,
    )
