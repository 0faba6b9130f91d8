"""``flask --app wsgi ...`` commands: migrate, seed, tokens."""

from __future__ import annotations

import json
from typing import cast

import click
from flask import Flask, current_app
from sqlalchemy import select

from reserve_service import migrate
from reserve_service.auth import ROLES, create_token
from reserve_service.config import PROJECT_ROOT
from reserve_service.db import transaction
from reserve_service.extensions import database


def _regions_by_adcode(session, adcode: str | None) -> int | None:
    """The id of a scope region; a clean error when it is unknown."""
    from reserve_service.inventory.tables import Region

    if not adcode:
        return None
    region_id = session.scalar(select(Region.id).where(Region.adcode == adcode)) if adcode.isdigit() else None
    if region_id is None:
        raise click.ClickException(f"unknown region {adcode!r}: give a 12-digit adcode of a loaded region")
    return region_id


def _known_depots(session, codes: tuple[str, ...]) -> list[str]:
    """The scope depot codes, all of which must exist."""
    from reserve_service.inventory.tables import Depot

    known = set(session.scalars(select(Depot.code).where(Depot.code.in_(codes)))) if codes else set()
    unknown = [code for code in codes if code not in known]
    if unknown:
        raise click.ClickException(f"unknown depot {', '.join(map(repr, unknown))}")
    if any("," in code for code in codes):
        raise click.ClickException("a depot code may not contain ','")
    return list(dict.fromkeys(codes))


def _when(value) -> str:
    return value.isoformat(timespec="seconds") if value else "never"


def register(app: Flask) -> None:
    @app.cli.command("db-upgrade")
    def db_upgrade() -> None:
        """Apply Alembic migrations up to head."""
        migrate.upgrade(current_app.config["DATABASE_URL"])
        click.echo("database at head")

    @app.cli.command("seed")
    @click.option("--if-empty", is_flag=True, help="do nothing when regions already exist")
    def seed(if_empty: bool) -> None:
        """Load the 宿州 seed data from seed_data/."""
        from reserve_service.seed import is_empty, load_seed

        with transaction(database().factory(writer=True)) as session:
            if not is_empty(session):
                if if_empty:
                    click.echo("seed: database already has data, left as is")
                    return
                raise click.ClickException("database is not empty")
            counts = load_seed(session)
        click.echo("seed: " + ", ".join(f"{v} {k}" for k, v in counts.items()))

    @app.cli.command("load-roads")
    @click.option("--dir", "directory", default=str(PROJECT_ROOT / "seed_data" / "roads"),
                  help="folder with nodes.csv and edges.csv")
    @click.option("--geojson", "geojson_path", help="GeoJSON LineStrings with road properties instead")
    @click.option("--osm", "osm_path", help="OpenStreetMap .osm or .osm.pbf extract instead")
    @click.option("--name", default="宿州 seed network")
    @click.option("--if-empty", is_flag=True, help="do nothing when a network is already loaded")
    def load_roads(directory: str, geojson_path: str | None, osm_path: str | None, name: str,
                   if_empty: bool) -> None:
        """Load a road network (CSV folder, GeoJSON or OSM) and make it the active one."""
        from pathlib import Path

        from reserve_service.routing import loaders
        from reserve_service.routing.errors import RoutingInputError
        from reserve_service.routing.service import store_network, tables_to_csv
        from reserve_service.routing.tables import RoadNetwork

        with transaction(database().factory(writer=True)) as session:
            if if_empty and session.scalar(select(RoadNetwork.id).limit(1)) is not None:
                click.echo("load-roads: a network is already loaded, left as is")
                return
            try:
                if geojson_path or osm_path:
                    if geojson_path:
                        source = geojson_path
                        tables = loaders.read_geojson(source)
                    else:
                        source = cast(str, osm_path)
                        tables = loaders.read_osm(source)
                    nodes_csv, edges_csv = tables_to_csv(tables)
                else:
                    folder = Path(directory)
                    source = folder.name
                    nodes_csv = (folder / "nodes.csv").read_text(encoding="utf-8")
                    edges_csv = (folder / "edges.csv").read_text(encoding="utf-8")
                row = store_network(session, name, nodes_csv, edges_csv, source=Path(source).name)
            except (OSError, RoutingInputError) as exc:
                raise click.ClickException(str(exc)) from exc
            click.echo(f"load-roads: {row.node_count} nodes, {row.edge_count} edges active")

    @app.cli.command("create-token")
    @click.option("--name", required=True)
    @click.option("--role", required=True, type=click.Choice(ROLES))
    @click.option("--region", "region_adcode", help="manager scope: region adcode (whole subtree)")
    @click.option("--depot", "depots", multiple=True, help="manager scope: depot code (repeatable)")
    def create_token_command(name: str, role: str, region_adcode: str | None, depots: tuple[str, ...]) -> None:
        """Create an API token and print it (it is stored hashed and never shown again)."""
        with transaction(database().factory(writer=True)) as session:
            try:
                if role != "manager" and (region_adcode or depots):
                    raise ValueError("only a manager token has a scope (--region / --depot)")
                token = create_token(session, name, role, _regions_by_adcode(session, region_adcode),
                                     _known_depots(session, depots))
            except ValueError as exc:
                raise click.ClickException(str(exc)) from exc
        click.echo(token)

    @app.cli.command("revoke-token")
    @click.option("--id", "token_ids", type=int, multiple=True, help="token id (see list-tokens); repeatable")
    @click.option("--name", help="revoke every live token of this name")
    def revoke_token_command(token_ids: tuple[int, ...], name: str | None) -> None:
        """Revoke tokens: they answer 401 from the next request on."""
        from reserve_service.auth import revoke_token

        if not token_ids and not name:
            raise click.ClickException("name the token: --id N (see list-tokens) or --name NAME")
        with transaction(database().factory(writer=True)) as session:
            rows = revoke_token(session, token_ids, name)
            if not rows:
                raise click.ClickException("no live token matches")
            for row in rows:
                click.echo(f"revoked {row.id} {row.name} ({row.role})")

    @app.cli.command("list-tokens")
    @click.option("--all", "include_revoked", is_flag=True, help="include revoked tokens")
    def list_tokens_command(include_revoked: bool) -> None:
        """Tokens with role, scope, uses and last use (uses are written at most once a minute)."""
        from reserve_service.auth import list_tokens
        from reserve_service.inventory.tables import Region

        with transaction(database().factory()) as session:
            adcodes: dict[int | None, str] = dict(session.execute(select(Region.id, Region.adcode)).all())
            click.echo("id\tname\trole\tscope\tuses\tlast used\tcreated\trevoked")
            for row in list_tokens(session, include_revoked):
                scope = ",".join(filter(None, [adcodes.get(row.scope_region_id, ""), row.scope_depot_codes]))
                click.echo(f"{row.id}\t{row.name}\t{row.role}\t{scope or '-'}\t{row.uses}\t"
                           f"{_when(row.last_used_at)}\t{_when(row.created_at)}\t"
                           f"{_when(row.revoked_at) if row.revoked_at else '-'}")

    @app.cli.command("demo-tokens")
    def demo_tokens() -> None:
        """Create one demo token per role (once) and print `demo token <role>: <token>`.

        The plain tokens are kept in instance/demo_tokens.json for the demo only; the manager
        is scoped to 埇桥区 (341302000000) when the seed data is loaded.
        """
        path = current_app.instance_path + "/demo_tokens.json"
        try:
            with open(path, encoding="utf-8") as handle:
                tokens = json.load(handle)
        except FileNotFoundError:
            tokens = {}
        from reserve_service.auth import ApiToken, hash_token

        with transaction(database().factory(writer=True)) as session:
            for role in ROLES:
                known = tokens.get(role)
                if known and session.scalar(select(ApiToken.id).where(ApiToken.token_hash == hash_token(known))):
                    continue
                region = _regions_by_adcode(session, "341302000000") if role == "manager" else None
                tokens[role] = create_token(session, f"demo-{role}", role, region)
        with open(path, "w", encoding="utf-8") as handle:
            json.dump(tokens, handle, indent=1)
        for role in ROLES:
            click.echo(f"demo token {role}: {tokens[role]}")
