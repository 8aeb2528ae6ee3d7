"""The mesh's gRPC security settings: every mistake is a one-line error naming the variable."""
from __future__ import annotations

import pytest

from services.common.env import ConfigError
from services.common.mesh_security import MeshSecurity, derive_service_key
from tests.fakes.certs import make_pki

KEY = {"TOKENYARD_MASTER_KEY": "k" * 24}


def test_a_key_is_required_and_services_send_their_own_credential_not_the_master_key():
    with pytest.raises(ConfigError, match="TOKENYARD_MASTER_KEY .or TOKENYARD_SERVICE_KEY. must be set"):
        MeshSecurity.from_env({})
    with pytest.raises(ConfigError, match="at least 16"):
        MeshSecurity.from_env({"TOKENYARD_MASTER_KEY": "short"})
    sec = MeshSecurity.from_env(KEY)
    (name, value), = sec.call_metadata()
    assert name == "authorization" and value == f"Bearer {derive_service_key('k' * 24)}"
    assert "k" * 24 not in value and value.startswith("Bearer tys-")
    explicit = MeshSecurity.from_env({"TOKENYARD_SERVICE_KEY": "s" * 40})  # a service without the master key
    assert explicit.call_metadata() == (("authorization", "Bearer " + "s" * 40),) and not explicit.key
    with pytest.raises(ConfigError, match="at least 32"):
        MeshSecurity.from_env({**KEY, "TOKENYARD_SERVICE_KEY": "short"})
    assert not sec.tls and sec.server_credentials() is None and sec.channel_credentials() is None
    assert "k" * 24 not in repr(sec)


def test_tls_needs_both_halves_of_the_certificate(tmp_path):
    pki = make_pki(tmp_path)
    with pytest.raises(ConfigError, match="TOKENYARD_GRPC_TLS_KEY must be set too"):
        MeshSecurity.from_env({**KEY, "TOKENYARD_GRPC_TLS_CERT": str(pki.cert)})
    with pytest.raises(ConfigError, match="TOKENYARD_GRPC_TLS_CERT must be set too"):
        MeshSecurity.from_env({**KEY, "TOKENYARD_GRPC_TLS_KEY": str(pki.key)})
    with pytest.raises(ConfigError, match="TOKENYARD_GRPC_TLS_CA is set but TOKENYARD_GRPC_TLS_CERT is not"):
        MeshSecurity.from_env({**KEY, "TOKENYARD_GRPC_TLS_CA": str(pki.ca)})
    sec = MeshSecurity.from_env({**KEY, **pki.env()})
    assert sec.tls and not sec.client_auth and sec.cert == pki.cert.read_bytes()
    assert sec.server_credentials() is not None and sec.channel_credentials() is not None


def test_unreadable_or_non_pem_files_are_named(tmp_path):
    pki = make_pki(tmp_path)
    with pytest.raises(ConfigError, match=r"TOKENYARD_GRPC_TLS_CERT: cannot read .*nope\.pem"):
        MeshSecurity.from_env({**KEY, **pki.env(), "TOKENYARD_GRPC_TLS_CERT": str(tmp_path / "nope.pem")})
    junk = tmp_path / "junk.pem"
    junk.write_text("not a certificate")
    with pytest.raises(ConfigError, match="TOKENYARD_GRPC_TLS_CA: .* is not a PEM file"):
        MeshSecurity.from_env({**KEY, **pki.env(), "TOKENYARD_GRPC_TLS_CA": str(junk)})


def test_mutual_tls_needs_a_ca_and_a_clear_switch(tmp_path):
    pki = make_pki(tmp_path)
    assert MeshSecurity.from_env({**KEY, **pki.env(client_auth=True)}).client_auth
    no_ca = {k: v for k, v in pki.env(client_auth=True).items() if k != "TOKENYARD_GRPC_TLS_CA"}
    with pytest.raises(ConfigError, match="TOKENYARD_GRPC_TLS_CLIENT_AUTH needs"):
        MeshSecurity.from_env({**KEY, **no_ca})
    with pytest.raises(ConfigError, match="must be true or false, got 'maybe'"):
        MeshSecurity.from_env({**KEY, **pki.env(), "TOKENYARD_GRPC_TLS_CLIENT_AUTH": "maybe"})
