"""The emulated accounts' identities: a request's key found among the sessions STS issued."""

from __future__ import annotations


def test_a_session_key_is_found_in_the_index_as_sessions_come_and_after_a_reset(monkeypatch):
    """The index over an account's sessions (moto walks the whole list per lookup) finds a
    session made after it was built, and forgets every session when the list is cleared."""
    from types import SimpleNamespace

    from emulator import identity

    sessions = [SimpleNamespace(access_key_id="ASIAFIRST")]
    monkeypatch.setattr(identity, "sts_backends", {"111111111111": {"aws": SimpleNamespace(assumed_roles=sessions)}})
    assert identity.assumed_role_of("111111111111", "ASIAFIRST") is sessions[0]
    assert identity.assumed_role_of("111111111111", "ASIALATER") is None
    sessions.append(SimpleNamespace(access_key_id="ASIALATER"))
    assert identity.assumed_role_of("111111111111", "ASIALATER") is sessions[1]
    sessions.clear()  # moto's reset
    assert identity.assumed_role_of("111111111111", "ASIAFIRST") is None
    assert identity.assumed_role_of("222222222222", "ASIAFIRST") is None, "an account moto has not made has no session"
