import socket

import pytest

from tests.conftest import _is_local


def test_outbound_socket_is_refused():
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        with pytest.raises(ConnectionRefusedError, match="must not reach the network"):
            s.connect(("93.184.216.34", 80))
    finally:
        s.close()
    # the attempt was recorded; clear it so that this test itself passes
    from tests import conftest

    conftest._network_attempts.clear()


def test_loopback_is_allowed():
    assert _is_local(("127.0.0.1", 1))
    assert _is_local(("::1", 1, 0, 0))
    assert _is_local(("localhost", 1))
    assert not _is_local(("10.0.0.1", 1))
    assert not _is_local(("pypi.org", 443))


def test_offline_variables_are_set():
    import os

    assert os.environ["HF_HUB_OFFLINE"] == "1"
    assert os.environ["WANDB_MODE"] == "offline"
