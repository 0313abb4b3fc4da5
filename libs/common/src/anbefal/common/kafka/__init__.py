"""Kafka for every service: the producer (producer.py) and the one consumer loop (consumer.py),
with its stored offsets (offsets.py), dead letters (dead_letters.py) and watchdog (watchdog.py).
"""

from anbefal.common.kafka.consumer import (
    BatchHandler,
    ConsumerLoop,
    HandlerWrapper,
    Message,
    wrap_handlers,
)
from anbefal.common.kafka.producer import (
    TRACE_HEADER,
    BrokerUnavailable,
    Headers,
    OutRecord,
    Publisher,
)
from anbefal.common.kafka.watchdog import ConsumerHealth

__all__ = [
    "TRACE_HEADER",
    "BatchHandler",
    "BrokerUnavailable",
    "ConsumerHealth",
    "ConsumerLoop",
    "HandlerWrapper",
    "Headers",
    "Message",
    "OutRecord",
    "Publisher",
    "wrap_handlers",
]
