"""The client address: X-Real-IP only from a trusted proxy, else the peer."""

from __future__ import annotations

import re

import pytest
from chat_common.client_address import TrustedProxies
from chat_common.redact import redact

DEFAULT = TrustedProxies.parse("127.0.0.1,::1")


def test_a_trusted_proxy_s_header_names_the_client() -> None:
    assert DEFAULT.client_address("127.0.0.1", "203.0.113.9") == "203.0.113.9"
    assert DEFAULT.client_address("::1", "2001:db8::0:1") == "2001:db8::1"


def test_from_any_other_peer_the_header_is_ignored() -> None:
    assert DEFAULT.client_address("198.51.100.4", "203.0.113.9") == "198.51.100.4"


def test_a_proxy_s_garbage_header_falls_back_to_the_peer() -> None:
    assert DEFAULT.client_address("127.0.0.1", "not-an-ip, 1.2.3.4") == "127.0.0.1"
    assert DEFAULT.client_address("127.0.0.1", None) == "127.0.0.1"


def test_cidrs_and_ipv4_mapped_peers() -> None:
    proxies = TrustedProxies.parse(" 10.0.0.0/8 , fd00::/8 ")
    assert proxies.client_address("::ffff:10.1.2.3", "203.0.113.9") == "203.0.113.9"
    assert proxies.client_address("fd00::5", "::ffff:203.0.113.9") == "203.0.113.9"
    assert proxies.client_address("11.0.0.1", "203.0.113.9") == "11.0.0.1"
    assert proxies.client_address(None, "203.0.113.9") == "unknown"


def test_a_bad_entry_is_named() -> None:
    with pytest.raises(ValueError, match=re.escape("'10.0.0.300'")):
        TrustedProxies.parse("127.0.0.1,10.0.0.300")


def test_redact_masks_a_database_password_in_every_spelling() -> None:
    url = "postgresql://u:p%25w%40rd@db:5432/x"
    message = "bad url postgresql+psycopg://u:p%%25w%%40rd@db and p%w@rd and p%25w%40rd"
    masked = redact(message, url)
    assert "p%" not in masked and "w@rd" not in masked, masked
    assert redact("port 'x'", "postgresql://u:hunter2@db:x/y") == "port 'x'"
    assert "hunter2" not in redact("hunter2 leaked", "postgresql://u:hunter2@db:x/y")
