"""Comparing registry objects by what they define, not by when they were written."""

from __future__ import annotations

import base64
import difflib
import hashlib
from collections.abc import Iterator

from google.protobuf import json_format

from feast_federation.errors import FederationError
from feast_federation.rules.kinds import COLLECTIONS
from feast_federation.rules.ownership import INTERNAL_NAMES

# Fields that differ between two applies of the same definition: timestamps (``meta``),
# the project stamp, and a UDF's dill ``body`` (it embeds file paths and line numbers; Feast
# rehydrates from ``body_text``, which is compared).
# Set by the registry as it stores an object, not by its definition: a file registry adds
# the source's class name to every DataSource (the SQL registry does not), so a digest of
# what an apply wrote would never match what the registry holds.
VOLATILE_FIELDS = frozenset({"meta", "project", "body", "data_source_class_type"})


def spec_of(proto):
    """A copy of the object's spec (or of the proto itself, for flat protos like DataSource)."""
    spec = proto.spec if "spec" in proto.DESCRIPTOR.fields_by_name else proto
    copy = type(spec)()
    copy.CopyFrom(spec)
    clear_volatile(copy)
    return copy


def project_of(proto) -> str:
    """The project an object's proto belongs to (a DataSource proto is flat)."""
    return proto.spec.project if "spec" in proto.DESCRIPTOR.fields_by_name else proto.project


def name_of(proto) -> str:
    """An object's name, read in place (``spec_of`` copies the spec)."""
    return proto.spec.name if "spec" in proto.DESCRIPTOR.fields_by_name else proto.name


def project_objects(proto, project: str, only=None) -> dict[tuple[str, str], object]:
    """The project's objects in a RegistryProto, internal ones aside, by collection and
    name; of the collections in ``only``, when given (at 10,000 teams 40,000 of the 70,000
    objects are Permissions, which most readers skip). Always in ``COLLECTIONS`` order."""
    return {
        (collection, name_of(item)): item
        for collection in COLLECTIONS
        if only is None or collection in only
        for item in getattr(proto, collection)
        if project_of(item) == project and name_of(item) not in INTERNAL_NAMES
    }


def stamp_project(proto, project: str):
    """``proto`` stamped with its project, as the registry stores it: an object's own
    ``to_proto`` leaves the project out for some kinds."""
    if "spec" in proto.DESCRIPTOR.fields_by_name:
        proto.spec.project = project
    else:
        proto.project = project
    return proto


DATA_SOURCE_PROTO = "feast.core.DataSource"


def stored_strings(proto) -> Iterator[str]:
    """Every string value ``proto`` stores, in its nested messages, maps and lists too,
    except inside the data sources it embeds (a view's batch source): those are objects of
    their own, checked as themselves."""
    for field, value in proto.ListFields():
        if field.message_type is not None and field.message_type.GetOptions().map_entry:
            values = list(value.values())  # a map: its keys are names, its values stored
        else:
            single = isinstance(value, (str, bytes, int, float)) or hasattr(value, "ListFields")
            values = [value] if single else list(value)  # else a repeated field
        for item in values:
            if isinstance(item, str):
                yield item
            elif hasattr(item, "ListFields") and item.DESCRIPTOR.full_name != DATA_SOURCE_PROTO:
                yield from stored_strings(item)


def fingerprint(proto) -> bytes:
    return spec_of(proto).SerializeToString(deterministic=True)


def digest(proto) -> str:
    """A short stable form of ``fingerprint``, for the apply log."""
    return hashlib.sha256(fingerprint(proto)).hexdigest()[:32]


def digest_as_made(proto) -> str:
    """``digest`` of a proto this process made with no volatile field set (no project, no
    timestamps: a Permission proto made from the policy): the same value, without the copy
    that clears them (40,000 copies in a 10,000-team platform plan)."""
    spec = proto.spec if "spec" in proto.DESCRIPTOR.fields_by_name else proto
    return hashlib.sha256(spec.SerializeToString(deterministic=True)).hexdigest()[:32]


def changed_fields(new_proto, old_proto) -> tuple[str, ...]:
    return tuple(changed_values(new_proto, old_proto))


def changed_values(new_proto, old_proto) -> dict[str, dict]:
    """Each changed spec field with its ``old`` and ``new`` values as JSON; a UDF's source
    (any ``body_text`` inside the field) also as a unified ``diff``."""
    new, old = spec_of(new_proto), spec_of(old_proto)
    names = [f.name for f in new.DESCRIPTOR.fields if getattr(new, f.name) != getattr(old, f.name)]
    if not names:
        return {}
    # As JSON the way protobuf prints it; a field at its default is absent: None.
    new_json, old_json = (
        json_format.MessageToDict(spec, preserving_proto_field_name=True) for spec in (new, old)
    )
    return {name: _value_change(name, old_json.get(name), new_json.get(name)) for name in names}


def _value_change(name: str, old, new) -> dict:
    old_source, new_source = _body_text(old), _body_text(new)
    if old_source == new_source:  # no UDF here, or the change is elsewhere in the field
        return {"old": old, "new": new}
    diff = difflib.unified_diff(
        (old_source or "").splitlines(keepends=True),
        (new_source or "").splitlines(keepends=True),
        fromfile=f"{name} (registry)",
        tofile=f"{name} (repo)",
    )
    return {"old": old_source, "new": new_source, "diff": "".join(diff)}


def _body_text(value) -> str | None:
    """The UDF source held anywhere in a JSON value, or None."""
    if isinstance(value, dict):
        if isinstance(value.get("body_text"), str):
            return value["body_text"]
        for item in value.values():
            found = _body_text(item)
            if found is not None:
                return found
    return None


def clear_volatile(message) -> None:
    """Clear every volatile field of ``message``, at any depth.

    Only the fields that can hold one are visited (``_walk``, worked out once per message
    type): a digest is taken of every object an audit or a platform plan reads, 100,000 of
    them at 10,000 teams, and most of each spec cannot hold a volatile field."""
    direct, singular, repeated, maps = _walk(message.DESCRIPTOR)
    for name in direct:
        message.ClearField(name)
    for name in singular:
        if message.HasField(name):
            clear_volatile(getattr(message, name))
    for name in repeated:
        for item in getattr(message, name):
            clear_volatile(item)
    for name in maps:
        for item in getattr(message, name).values():
            clear_volatile(item)


_WALKS: dict = {}


def _walk(descriptor) -> tuple[tuple[str, ...], ...]:
    """The fields of a message type ``clear_volatile`` visits: volatile ones to clear, and
    the message fields (singular, repeated, maps of messages) that can hold one."""
    found = _WALKS.get(descriptor)
    if found is None:
        direct, singular, repeated, maps = [], [], [], []
        for field in descriptor.fields:
            if field.name in VOLATILE_FIELDS:
                direct.append(field.name)
            elif field.message_type is None or not _reaches_volatile(field.message_type):
                continue
            elif field.message_type.GetOptions().map_entry:
                if field.message_type.fields_by_name["value"].message_type is not None:
                    maps.append(field.name)
            elif _is_repeated(field):
                repeated.append(field.name)
            else:
                singular.append(field.name)
        found = (tuple(direct), tuple(singular), tuple(repeated), tuple(maps))
        _WALKS[descriptor] = found
    return found


_REACHES: dict = {}


def _reaches_volatile(descriptor) -> bool:
    """Whether a message of this type can hold a volatile field at any depth: most parts of
    a spec (a Permission's policy, a view's schema) cannot, and are not walked. A type met
    again while it is being looked at counts as reaching one (never skipped wrongly)."""
    found = _REACHES.get(descriptor)
    if found is None:
        _REACHES[descriptor] = True
        found = any(
            field.name in VOLATILE_FIELDS
            or (field.message_type is not None and _reaches_volatile(field.message_type))
            for field in descriptor.fields
        )
        _REACHES[descriptor] = found
    return found


def _is_repeated(field) -> bool:
    if hasattr(field, "is_repeated"):
        return field.is_repeated
    return field.label == field.LABEL_REPEATED  # protobuf < 5


def source_class_name(proto) -> str:
    """The Feast class a DataSource proto reads back as (``FileSource``, ...)."""
    from feast.data_source import DataSource

    return type(DataSource.from_proto(proto)).__name__


def value_type_name(value_type: int) -> str:
    """A Feast ValueType enum number's name (``INT64``, ...)."""
    from feast.protos.feast.types.Value_pb2 import ValueType

    return ValueType.Enum.Name(value_type)


# --- objects and snapshots as bytes --------------------------------------------------------


def _registry_proto():
    from feast.protos.feast.core.Registry_pb2 import Registry as RegistryProto

    return RegistryProto()


def encode_object(collection: str, proto) -> str:
    """One object as a one-object RegistryProto, base64 (an apply-log image)."""
    holder = _registry_proto()
    getattr(holder, collection).add().CopyFrom(proto)
    return base64.b64encode(holder.SerializeToString(deterministic=True)).decode("ascii")


def decode_object(text: str) -> tuple[str, object]:
    """The collection and proto of ``encode_object``'s one object."""
    holder = _registry_proto()
    holder.ParseFromString(base64.b64decode(text))
    [(field, [proto])] = holder.ListFields()
    return field.name, proto


def snapshot_of(objects: dict[tuple[str, str], object]) -> bytes:
    """``project_objects``' form as one serialized RegistryProto (a backup)."""
    result = _registry_proto()
    for (collection, _), item in objects.items():
        getattr(result, collection).append(item)
    return result.SerializeToString(deterministic=True)


def parse_snapshot(backup: bytes):
    proto = _registry_proto()
    try:
        proto.ParseFromString(backup)
    except Exception:
        raise FederationError(
            "the backup is not a registry snapshot written by feast-federation"
        ) from None
    return proto
