"""Passwords (argon2), API tokens (hashed, revocable) and throttled failures."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from flowengine.accounts import Accounts, Throttle
from flowengine.engine import Engine
from flowengine.errors import AuthenticationFailed, InvalidData, NotFound, TooManyAttempts
from flowengine.storage import tables as t

PASSWORD = "uzun ve gizli bir parola"  # noqa: S105 - a test password


def test_a_password_is_kept_as_an_argon2_hash_and_logs_in(engine: Engine) -> None:
    accounts = Accounts(engine)
    accounts.set_password("ayse", PASSWORD)
    with engine.store.unit(writes=False) as unit:
        stored = unit.password_hash("ayse")
    assert stored is not None and stored.startswith("$argon2id$") and PASSWORD not in stored
    person = accounts.login("ayse", PASSWORD, client="10.0.0.1")
    assert person.id == "ayse" and person.holds("bizim_masa")


def test_wrong_password_and_unknown_person_fail_alike(engine: Engine) -> None:
    accounts = Accounts(engine)
    accounts.set_password("ayse", PASSWORD)
    with pytest.raises(AuthenticationFailed) as wrong:
        accounts.login("ayse", "yanlış parola 123", client="10.0.0.1")
    with pytest.raises(AuthenticationFailed) as unknown:
        accounts.login("kimse", PASSWORD, client="10.0.0.2")
    assert str(wrong.value) == str(unknown.value)


def test_a_short_password_is_refused(engine: Engine) -> None:
    with pytest.raises(InvalidData, match="at least 10"):
        Accounts(engine).set_password("ayse", "kisa")


def test_failures_lock_the_account_even_against_the_right_password(engine: Engine) -> None:
    accounts = Accounts(engine)
    accounts.set_password("ayse", PASSWORD)
    for attempt in range(5):
        with pytest.raises(AuthenticationFailed):
            accounts.login("ayse", f"tahmin {attempt} parola", client=f"10.0.1.{attempt}")
    with pytest.raises(TooManyAttempts) as throttled:
        accounts.login("ayse", PASSWORD, client="10.0.2.1")
    assert throttled.value.retry_after == 15 * 60
    # another person is not locked by ayse's failures
    accounts.set_password("mehmet", PASSWORD)
    assert accounts.login("mehmet", PASSWORD, client="10.0.2.1").id == "mehmet"


def test_one_client_trying_many_names_is_throttled(engine: Engine) -> None:
    accounts = Accounts(
        engine, login_throttle=Throttle("login", 3, Accounts(engine).login_throttle.window)
    )
    for name in ("a1", "a2", "a3"):
        with pytest.raises(AuthenticationFailed):
            accounts.login(name, PASSWORD, client="203.0.113.9")
    with pytest.raises(TooManyAttempts):
        accounts.login("a4", PASSWORD, client="203.0.113.9")


def test_a_success_clears_the_persons_failures(engine: Engine) -> None:
    accounts = Accounts(engine)
    accounts.set_password("ayse", PASSWORD)
    for _ in range(4):
        with pytest.raises(AuthenticationFailed):
            accounts.login("ayse", "yanlış parola 123", client="10.0.0.1")
    accounts.login("ayse", PASSWORD, client="10.0.0.2")
    for _ in range(4):  # four more failures are allowed again
        with pytest.raises(AuthenticationFailed):
            accounts.login("ayse", "yanlış parola 123", client="10.0.0.3")
    assert accounts.login("ayse", PASSWORD, client="10.0.0.4").id == "ayse"


def test_a_token_acts_as_its_person_until_revoked(engine: Engine) -> None:
    accounts = Accounts(engine)
    issued = accounts.create_token("mehmet", "fen entegrasyonu")
    assert accounts.person_for_token(issued.text).id == "mehmet"
    with engine.store.unit(writes=False) as unit:
        row = unit.connection.execute(select(t.api_tokens)).one()
    secret = issued.text.rsplit("_", 1)[-1]
    assert secret not in row.secret_hash and row.name == "fen entegrasyonu"
    accounts.revoke_token(issued.id)
    with pytest.raises(AuthenticationFailed, match="revoked"):
        accounts.person_for_token(issued.text)
    assert accounts.tokens("mehmet")[0].revoked_at is not None


@pytest.mark.parametrize("text", ["", "fe_", "xx_abc_def", "fe_nosecret", "fe_abc_wrong"])
def test_malformed_or_forged_tokens_fail(engine: Engine, text: str) -> None:
    Accounts(engine).create_token("ayse", "masa")
    with pytest.raises(AuthenticationFailed):
        Accounts(engine).person_for_token(text)


def test_a_real_token_id_with_a_wrong_secret_fails(engine: Engine) -> None:
    issued = Accounts(engine).create_token("ayse", "masa")
    forged = f"fe_{issued.id}_{'A' * 43}"
    with pytest.raises(AuthenticationFailed, match="unknown or revoked"):
        Accounts(engine).person_for_token(forged)
    assert Accounts(engine).person_for_token(issued.text).id == "ayse"


def test_revoking_an_unknown_token_says_how_to_list_them(engine: Engine) -> None:
    with pytest.raises(NotFound, match="flowengine tokens list"):
        Accounts(engine).revoke_token("yok")


def test_every_process_signs_sessions_with_one_stored_key(engine: Engine) -> None:
    first = Accounts(engine).signing_key()
    assert len(first) >= 40 and Accounts(engine).signing_key() == first
