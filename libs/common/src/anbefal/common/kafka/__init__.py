"""Kafka for every service: the producer (producer.py) and the one consumer loop (consumer.py),
with its typed subscriptions (subscriptions.py), stored offsets (offsets.py), dead letters
(dead_letters.py), a batch's transaction (batch.py) and watchdog (watchdog.py).
"""

from anbefal.common.kafka.batch import BatchHandler
from anbefal.common.kafka.consumer import ConsumerLoop, HandlerWrapper, wrap_handlers
from anbefal.common.kafka.messages import Message
from anbefal.common.kafka.producer import (
    TRACE_HEADER,
    BrokerUnavailable,
    Headers,
    OutRecord,
    Publisher,
)
from anbefal.common.kafka.subscriptions import Handler, HandlerContext, Subscriptions, utcnow
from anbefal.common.kafka.watchdog import ConsumerHealth

__all__ = [
    "TRACE_HEADER",
    "BatchHandler",
    "BrokerUnavailable",
    "ConsumerHealth",
    "ConsumerLoop",
    "Handler",
    "HandlerContext",
    "HandlerWrapper",
    "Headers",
    "Message",
    "OutRecord",
    "Publisher",
    "Subscriptions",
    "utcnow",
    "wrap_handlers",
]
