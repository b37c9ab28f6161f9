"""The base of every record type (``schemas.records``) and the annotated types they share."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, fields
from typing import Annotated, Any, ClassVar, Literal, Self

from schemas.keywords import Keywords

ID = Annotated[str, Keywords(pattern="^[0-9a-f]{16}$")]  # a content hash (schemas.ids.content_id)
Count = Annotated[int, Keywords(minimum=0)]
InstructionKind = Literal["normal", "missing_detail", "unanswerable", "multi_api", "chain"]


@dataclass
class Record:
    SCHEMA: ClassVar[str] = ""
    NESTED: ClassVar[dict[str, type[Record]]] = {}  # field → the record type of its list items

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Self:
        """The record of a dict as ``to_dict`` gives it (a warehouse row, a line of an export): keys that
        are not fields are left out, a missing field takes its default (``TypeError`` when it has none),
        the items of a ``NESTED`` list become records (items that already are stay as they are)."""
        values = {f.name: data[f.name] for f in fields(cls) if f.name in data}
        for name, item_type in cls.NESTED.items():
            if isinstance(values.get(name), list):
                values[name] = [v if isinstance(v, item_type) else item_type.from_dict(v) for v in values[name]]
        return cls(**values)
