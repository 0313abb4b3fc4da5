"""The fast partitioner must choose exactly the partition aiokafka's (and Java's) would."""

from __future__ import annotations

from aiokafka.partitioner import DefaultPartitioner
from aiokafka.partitioner import murmur2 as reference_murmur2
from hypothesis import given, settings
from hypothesis import strategies as st

from anbefal.common.partitioner import KeyPartitioner, murmur2


@settings(max_examples=2000)
@given(data=st.binary(max_size=200))
def test_same_hash_as_aiokafka(data: bytes) -> None:
    assert murmur2(data) == reference_murmur2(data)


@given(key=st.binary(min_size=1, max_size=80), count=st.integers(min_value=1, max_value=64))
def test_same_partition_as_the_default_partitioner(key: bytes, count: int) -> None:
    partitions = list(range(count))
    assert KeyPartitioner()(key, partitions, partitions) == DefaultPartitioner()(
        key, partitions, partitions
    )


def test_no_key_goes_to_an_available_partition() -> None:
    assert KeyPartitioner()(None, [0, 1, 2], [2]) == 2
