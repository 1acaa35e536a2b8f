"""The entity registry: consistent with itself, with the client, the CLI, the adapters and
migration; the checks it drives; and a field added to a model reaching every consumer."""

from __future__ import annotations

import dataclasses
import inspect
import typing
from collections.abc import Iterator
from typing import Annotated, Any

import click
import pytest

import mdmbridge
from mdmbridge import client as client_module
from mdmbridge import namespaces
from mdmbridge.adapter import Adapter, AdapterSettings, Values, Writable
from mdmbridge.capabilities import Capability as C
from mdmbridge.cli.app import load_command
from mdmbridge.entities import ENTITIES, LINKS, Entity, writable_entities
from mdmbridge.fields import UNSET, Write
from mdmbridge.generate import schema_markdown, type_names, writes_module
from mdmbridge.migrate import kinds
from mdmbridge.migrate.model import Kind
from mdmbridge.models import Group, TagTarget, User
from mdmbridge.plugins import registered_adapters

SINGULARS = {e.singular for e in ENTITIES.values()}
NAMESPACES = {
    name: cls
    for name, cls in vars(namespaces).items()
    if isinstance(cls, type) and issubclass(cls, namespaces.Namespace) and "entity" in vars(cls)
}


def test_every_entity_has_its_client_namespace() -> None:
    assert {cls.entity.name for cls in NAMESPACES.values()} == set(ENTITIES)
    client = client_module.Client(_Recorder(AdapterSettings(), tenant="t"))
    for cls in NAMESPACES.values():
        assert type(getattr(client, cls.entity.name)) is cls


def test_declarations_are_consistent() -> None:
    assert set(LINKS) == set(TagTarget)
    for entity in ENTITIES.values():
        assert entity.filter_fields is not None  # every filter key has its Filter(help)
        writable = {w.name for w in entity.writable}
        assert set(entity.needs) <= writable, entity.name
        for field in entity.writable:
            assert field.ref is None or f"{field.ref}s" in ENTITIES, (entity.name, field.name)
            assert field.help.strip(), (entity.name, field.name)
        if entity.write is not None and entity.target is None:
            assert any(w.required for w in entity.fields_for("create")), entity.name


def test_every_plan_kind_is_data() -> None:
    assert set(kinds.KINDS) == set(typing.get_args(Kind))
    for kind in kinds.KINDS.values():
        assert kind.entity.name in ENTITIES


@pytest.mark.parametrize("entity", writable_entities(), ids=lambda e: e.name)
def test_client_signatures_are_the_registry_fields(entity: Entity) -> None:
    namespace = next(c for c in NAMESPACES.values() if c.entity is entity)
    names = type_names(entity)
    for verb, mode, args in (
        (entity.verb, "create", names["create_args"]),
        ("update", "update", names.get("update_args")),
    ):
        if args is None:
            assert not hasattr(namespace, "update")
            continue
        fields = entity.fields_for(mode)  # type: ignore[arg-type]
        parameters = inspect.signature(getattr(namespace, verb)).parameters.values()
        keywords = {p.name: p for p in parameters if p.kind is p.KEYWORD_ONLY}
        assert list(keywords) == [w.name for w in fields]
        typed = getattr(mdmbridge.writes, args)
        assert set(typed.__annotations__) == set(keywords)
        required = {w.name for w in fields if w.required and mode == "create"}
        assert typed.__required_keys__ == required
        assert {n for n, p in keywords.items() if p.default is inspect.Parameter.empty} == required


def test_builtin_adapters_name_registry_filters_and_fields() -> None:
    for adapter in registered_adapters().values():
        for name, filters in adapter.list_filters.items():
            assert filters <= {f.name for f in ENTITIES[name].filter_fields}
        for name, declared in adapter.writable.items():
            assert declared.create <= {w.name for w in ENTITIES[name].fields_for("create")}
            assert declared.update <= {w.name for w in ENTITIES[name].fields_for("update")}


@pytest.mark.parametrize(
    ("attribute", "value", "message"),
    [
        ("list_filters", {"devices": frozenset({"colour"})}, "devices has no filter colour"),
        ("list_filters", {"gadgets": frozenset()}, "unknown entity 'gadgets'"),
        ("writable", {"users": Writable(frozenset({"mail"}), frozenset())}, "no field mail"),
        ("writable", {"devices": Writable(frozenset(), frozenset())}, "without writes"),
    ],
)
def test_a_declaration_naming_what_the_registry_lacks_is_refused(
    attribute: str, value: Any, message: str
) -> None:
    with pytest.raises(TypeError, match=message):
        type("Typo", (Adapter,), {"vendor": "typo", attribute: value})


# --------------------------------------------------------------------------- checks


class _Recorder(Adapter):
    """Records what the client hands an adapter: the checked values."""

    vendor = "recorder"
    capabilities = frozenset(C)
    list_filters = {"users": frozenset({"email", "group_id"})}
    writable = {"users": Writable(frozenset({"name", "email", "group_id"}), frozenset({"name"}))}

    def __init__(self, settings: AdapterSettings, *, tenant: str, read_only: bool = False):
        super().__init__(settings, tenant=tenant, read_only=read_only)
        self.calls: list[tuple[str, Any]] = []

    def _record(self, name: str, values: Any) -> Any:
        self.calls.append((name, dict(values)))
        return Group(tenant="t", vendor="recorder", id="1", name="x")

    def create_group(self, values: Any) -> Any:
        return self._record("create_group", values)

    def update_group(self, group_id: str, changes: Any) -> Any:
        return self._record("update_group", changes)

    def create_user(self, values: Any) -> Any:
        return self._record("create_user", values)

    def update_user(self, user_id: str, changes: Any) -> Any:
        return self._record("update_user", changes)

    def upsert_app(self, values: Any) -> Any:
        return self._record("upsert_app", values)

    def list_users(self, filters: Values) -> Iterator[Any]:
        self.calls.append(("list_users", dict(filters)))
        return iter(())


@pytest.fixture
def recorded() -> tuple[mdmbridge.Client, _Recorder]:
    adapter = _Recorder(AdapterSettings(), tenant="t")
    return client_module.Client(adapter), adapter


ANDROID = mdmbridge.Platform.ANDROID
APP = {
    "name": "A",
    "company": "B",
    "package_id": "se.a",
    "version_text": "1",
    "platform": "ANDROID",
    "size": 1,
    "store": "play",
    "store_id": "se.a",
}


def test_adapters_receive_checked_values(recorded: tuple[mdmbridge.Client, _Recorder]) -> None:
    mdm, adapter = recorded
    mdm.groups.create(name="G", parent_id=12, number=None, notes="n")
    mdm.groups.update("1", name="H", number=None, notes=UNSET)
    mdm.users.create(name="U", group_id=" 7 ", email="u@x.se")
    mdm.apps.upsert(**APP)  # type: ignore[arg-type]
    list(mdm.users.list(email="u@x.se", group_id=5))
    assert adapter.calls == [
        ("create_group", {"name": "G", "parent_id": "12", "notes": "n"}),  # None: not sent
        ("update_group", {"name": "H", "number": None}),  # UNSET: not sent; None: clear
        ("create_user", {"name": "U", "group_id": "7", "email": "u@x.se"}),
        ("upsert_app", APP | {"platform": ANDROID, "store": mdmbridge.AppStore.PLAY}),
        ("list_users", {"email": "u@x.se", "group_id": "5"}),
    ]


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda m: m.groups.create(name="  "), "group name: cannot be empty"),
        (lambda m: m.groups.create(number="1"), "group name is required"),
        (lambda m: m.groups.update("1", name=None), "group name cannot be cleared"),
        (lambda m: m.groups.update("1", notes=3), "group notes: Input should be a valid string"),
        (lambda m: m.groups.update("1"), "nothing to update"),
        (lambda m: m.groups.update("1", name=UNSET), "nothing to update"),
        (lambda m: m.groups.create(name="x", parent_id=""), "group parent_id: is empty"),
        (lambda m: m.groups.create(name="x", parent_id=1.5), "parent_id: must be a string"),
        (lambda m: m.users.update("1", group_id=None), "user group_id cannot be cleared"),
        (lambda m: m.users.create(name="U", company="X"), "recorder users cannot hold company"),
        (lambda m: m.users.update("1", email="e"), "recorder users cannot hold email"),
        (lambda m: m.apps.upsert(**{**APP, "size": "1"}), "app size: Input should be a valid"),
        (lambda m: m.apps.upsert(**{**APP, "size": -1}), "app size: Input should be greater"),
        (lambda m: m.apps.upsert(**{**APP, "store": "xbox"}), "app store: is not a value"),
        (lambda m: m.apps.upsert(**{**APP, "company": None}), "app company is required"),
    ],
)
def test_bad_values_are_refused_before_the_adapter(
    recorded: tuple[mdmbridge.Client, _Recorder], call: Any, message: str
) -> None:
    mdm, adapter = recorded
    with pytest.raises(mdmbridge.ValidationError, match=message):
        call(mdm)
    assert adapter.calls == []


def test_unknown_keywords_are_a_type_error(recorded: tuple[mdmbridge.Client, _Recorder]) -> None:
    mdm, adapter = recorded
    with pytest.raises(TypeError, match="unexpected keyword argument 'colour'"):
        mdm.groups.create(name="x", colour="red")  # type: ignore[call-arg]
    with pytest.raises(TypeError, match="unexpected keyword argument 'account'"):
        mdm.users.update("1", account="a")  # type: ignore[call-arg]
    with pytest.raises(TypeError, match="unexpected keyword argument 'name'"):
        list(mdm.users.list(name="x"))  # type: ignore[call-arg]
    assert adapter.calls == []


def test_filters_the_adapter_lacks_are_applied_by_the_client(
    recorded: tuple[mdmbridge.Client, _Recorder], monkeypatch: pytest.MonkeyPatch
) -> None:
    mdm, adapter = recorded
    users = [
        User(tenant="t", vendor="recorder", id=str(n), name=f"u{n}", phone=phone, email="a@b.se")
        for n, phone in enumerate(["+46 1", " +46 1 ", "+46 2", None])
    ]

    def list_users(filters: Values) -> Iterator[User]:
        adapter.calls.append(("list_users", dict(filters)))
        return iter(users)

    monkeypatch.setattr(adapter, "list_users", list_users)
    listing = mdm.users.list(phone="+46 1", email="a@b.se")
    assert adapter.calls == [("list_users", {"email": "a@b.se"})]  # only what it applies
    assert [u.id for u in listing] == ["0", "1"]  # phone: the whole value, spaces aside
    with pytest.raises(mdmbridge.ValidationError, match="phone is empty"):
        mdm.users.list(phone="  ")


# --------------------------------------------------------------------------- one line


class _GroupWithDescription(Group):
    """What ``Group`` is after the one-line edit: a writable, clearable description."""

    description: Annotated[str | None, Write("what the group is for")] = None


def test_a_field_added_to_a_model_reaches_every_consumer(
    monkeypatch: pytest.MonkeyPatch, recorded: tuple[mdmbridge.Client, _Recorder]
) -> None:
    grown = dataclasses.replace(ENTITIES["groups"], model=_GroupWithDescription)
    monkeypatch.setitem(ENTITIES, "groups", grown)
    monkeypatch.setattr(client_module.Groups, "entity", grown)
    monkeypatch.setitem(
        kinds.KINDS, "group", dataclasses.replace(kinds.KINDS["group"], entity=grown)
    )
    # the client: accepted, checked, handed on
    mdm, adapter = recorded
    mdm.groups.create(name="G", description="Kontor")  # type: ignore[call-arg]
    mdm.groups.update("1", description=None)  # type: ignore[call-arg]
    assert adapter.calls[-2:] == [
        ("create_group", {"name": "G", "description": "Kontor"}),
        ("update_group", {"description": None}),
    ]
    # the CLI: an option on create and update, and a --clear choice
    groups = load_command("groups")
    assert isinstance(groups, click.Group)
    for verb in ("create", "update"):
        options = {p.name: p for p in groups.commands[verb].params if isinstance(p, click.Option)}
        assert options["description"].help == "what the group is for"
    clear = next(p for p in groups.commands["update"].params if p.name == "clear")
    assert "description" in str(clear.help)
    # the export, the migration, the docs and the typed signatures
    assert "description" in [c.name for c in grown.columns]
    assert "description" in kinds.copied_fields("group", besides=("name",))
    assert "| `description` | text | TEXT | string | string | create, update, clear |" in (
        schema_markdown()
    )
    module = writes_module()
    assert module.count("    description: str | None\n") >= 2  # GroupCreateArgs, GroupChanges
