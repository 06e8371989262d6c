"""The services CI relies on answer their own protocols, not just TCP."""

from __future__ import annotations

import socket
import struct

import pytest

pytestmark = pytest.mark.integration


def test_redis_answers_ping(redis_address: tuple[str, int]) -> None:
    with socket.create_connection(redis_address, timeout=3) as connection:
        connection.sendall(b"PING\r\n")
        assert connection.recv(64).startswith(b"+PONG")


def test_postgres_answers_ssl_request(postgres_address: tuple[str, int]) -> None:
    """A PostgreSQL server answers an SSLRequest with a single 'S' or 'N' byte."""
    with socket.create_connection(postgres_address, timeout=3) as connection:
        connection.sendall(struct.pack("!ii", 8, 80877103))
        assert connection.recv(1) in (b"S", b"N")
