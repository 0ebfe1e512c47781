"""Comparing registry objects by what they define, not by when they were written."""

from __future__ import annotations

import hashlib

# Fields that differ between two applies of the same definition: timestamps (``meta``),
# the project stamp, and a UDF's dill ``body`` (it embeds file paths and line numbers; Feast
# rehydrates from ``body_text``, which is compared).
VOLATILE_FIELDS = frozenset({"meta", "project", "body"})


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


def fingerprint(proto) -> bytes:
    return spec_of(proto).SerializeToString(deterministic=True)


def digest(proto) -> str:
    """A short stable form of ``fingerprint``, for the apply log."""
    return hashlib.sha256(fingerprint(proto)).hexdigest()[:32]


def changed_fields(new_proto, old_proto) -> tuple[str, ...]:
    new, old = spec_of(new_proto), spec_of(old_proto)
    return tuple(
        field.name
        for field in new.DESCRIPTOR.fields
        if getattr(new, field.name) != getattr(old, field.name)
    )


def clear_volatile(message) -> None:
    for field, value in message.ListFields():
        if field.name in VOLATILE_FIELDS:
            message.ClearField(field.name)
        elif field.message_type is None:
            continue
        elif field.message_type.GetOptions().map_entry:
            if field.message_type.fields_by_name["value"].message_type is not None:
                for item in value.values():
                    clear_volatile(item)
        elif _is_repeated(field):
            for item in value:
                clear_volatile(item)
        else:
            clear_volatile(value)


def _is_repeated(field) -> bool:
    if hasattr(field, "is_repeated"):
        return field.is_repeated
    return field.label == field.LABEL_REPEATED  # protobuf < 5
