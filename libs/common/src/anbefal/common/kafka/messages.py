"""A polled record, decoded: what the loop hands to its subscriptions."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import pydantic
from aiokafka import ConsumerRecord

from anbefal.common import tracing
from anbefal.common.events import TOPIC_MODELS, EventModel, decode

# A record the loop gives up on, with the reason.
Poison = tuple[ConsumerRecord[Any, Any], str]


@dataclass(frozen=True)
class Message:
    """A decoded record."""

    event: EventModel
    topic: str
    partition: int
    offset: int
    key: bytes | None
    headers: tuple[tuple[str, bytes], ...]

    @property
    def trace_id(self) -> str | None:
        return tracing.trace_id_of(self.headers)


def decode_records(
    topic: str, records: Sequence[ConsumerRecord[Any, Any]]
) -> tuple[list[Message], list[Poison]]:
    """The records as messages; those that do not decode as the topic's model are poison."""
    model = TOPIC_MODELS[topic]
    messages: list[Message] = []
    poison: list[Poison] = []
    for record in records:
        try:
            event = decode(model, record.value)
        except pydantic.ValidationError as exc:
            poison.append((record, f"undecodable {model.__name__}: {exc}"))
            continue
        messages.append(
            Message(
                event=event,
                topic=record.topic,
                partition=record.partition,
                offset=record.offset,
                key=record.key,
                headers=tuple(record.headers or ()),
            )
        )
    return messages, poison
