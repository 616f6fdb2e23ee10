"""Who is asking: passwords, API tokens and throttling of failed attempts.

The web layer (and any program embedding flowengine behind its own front)
turns a password or a bearer token into a :class:`Person`; from there every
request passes the same role checks as the CLI, inside :class:`Engine`.

- Passwords are kept as argon2id hashes (argon2-cffi's defaults, RFC 9106's
  second recommended setting); a hash made with older parameters is renewed on
  the next successful login.
- An API token is ``fe_<id>_<secret>``: ``id`` is stored as is (to find the
  row, list and revoke), ``secret`` only as its SHA-256. A token is 256 bits
  of randomness, so a fast hash is enough; argon2 guards low-entropy passwords.
- Failed attempts are rows in the database, not process memory, so every
  process behind one PostgreSQL throttles alike.

    accounts = Accounts(engine)
    accounts.set_password("serkan.kibar", "uzun ve gizli bir parola")
    person = accounts.login("serkan.kibar", "uzun ve gizli bir parola", client="10.0.0.7")
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from flowengine.errors import AuthenticationFailed, InvalidData, NotFound, TooManyAttempts
from flowengine.instance import Person

if TYPE_CHECKING:
    from flowengine.engine import Engine

MIN_PASSWORD_LENGTH = 10
TOKEN_PREFIX = "fe"  # noqa: S105 - the public prefix of a token, not a secret


@dataclass(frozen=True)
class IssuedToken:
    """A token just created: ``text`` is shown once and never stored."""

    id: str
    person_id: str
    name: str
    text: str


@dataclass(frozen=True)
class ApiToken:
    id: str
    person_id: str
    name: str
    created_at: datetime
    revoked_at: datetime | None


@dataclass(frozen=True)
class Throttle:
    """At most ``limit`` failures per key within ``window``; then wait it out."""

    what: str
    limit: int
    window: timedelta


LOGIN_THROTTLE = Throttle("login", limit=5, window=timedelta(minutes=15))


class Accounts:
    """Passwords and API tokens of the people of one :class:`Engine`'s database."""

    def __init__(self, engine: Engine, login_throttle: Throttle = LOGIN_THROTTLE) -> None:
        self.engine = engine
        self.login_throttle = login_throttle
        self._hasher = PasswordHasher()
        self._dummy_hash: str | None = None

    # -- passwords ------------------------------------------------------------------

    def set_password(self, person_id: str, password: str) -> None:
        if len(password) < MIN_PASSWORD_LENGTH:
            raise InvalidData(
                {"password": f"use at least {MIN_PASSWORD_LENGTH} characters (a passphrase)"}
            )
        self.engine.person(person_id)  # UnknownPerson names the command that adds one
        hashed = self._hasher.hash(password)
        with self.engine.accounts_rows() as unit:
            unit.set_password_hash(person_id, hashed, self.engine.clock())

    def password_set_at(self, person_id: str) -> datetime | None:
        """When the person's password was last set (sessions older than that end)."""
        with self.engine.accounts_rows(writes=False) as unit:
            return unit.password_set_at(person_id)

    def login(self, person_id: str, password: str, client: str) -> Person:
        """The person, if the password is theirs; failures are counted and throttled.

        Both the account and the client address are throttled: one guards a
        person against guessing from many places, the other everyone against
        one place trying many names.
        """
        keys = (f"login:person:{person_id[:100]}", f"login:client:{client[:100]}")
        self.check(self.login_throttle, keys)
        with self.engine.accounts_rows(writes=False) as unit:
            stored = unit.password_hash(person_id)
        if not self._verify(stored, password):
            self.fail(self.login_throttle, keys)
            raise AuthenticationFailed("wrong person or password")
        assert stored is not None  # noqa: S101 - _verify is False without a hash
        with self.engine.accounts_rows() as unit:
            unit.clear_attempts(keys[:1])
            if self._hasher.check_needs_rehash(stored):
                unit.set_password_hash(person_id, self._hasher.hash(password), self.engine.clock())
        return self.engine.person(person_id)

    def _verify(self, stored: str | None, password: str) -> bool:
        # An unknown person costs the same argon2 run as a wrong password, so the
        # time taken does not tell which people exist.
        if stored is None:
            if self._dummy_hash is None:
                self._dummy_hash = self._hasher.hash(secrets.token_urlsafe(16))
            stored, known = self._dummy_hash, False
        else:
            known = True
        try:
            return self._hasher.verify(stored, password) and known
        except (VerificationError, InvalidHashError):
            return False

    # -- API tokens -----------------------------------------------------------------

    def create_token(self, person_id: str, name: str) -> IssuedToken:
        if not name.strip():
            raise InvalidData({"name": "name the token after what uses it (e.g. 'e-devlet')"})
        token_id = secrets.token_hex(8)
        secret = secrets.token_urlsafe(32)
        self.engine.person(person_id)
        with self.engine.accounts_rows() as unit:
            unit.add_token(token_id, person_id, name, _sha256(secret), self.engine.clock())
        return IssuedToken(token_id, person_id, name, f"{TOKEN_PREFIX}_{token_id}_{secret}")

    def tokens(self, person_id: str | None = None) -> list[ApiToken]:
        with self.engine.accounts_rows(writes=False) as unit:
            rows = unit.tokens(person_id)
        return [
            ApiToken(r["id"], r["person_id"], r["name"], r["created_at"], r["revoked_at"])
            for r in rows
        ]

    def revoke_token(self, token_id: str) -> None:
        with self.engine.accounts_rows() as unit:
            if unit.token(token_id) is None:
                raise NotFound(
                    f"no API token '{token_id}'; list them with 'flowengine tokens list'"
                )
            unit.revoke_token(token_id, self.engine.clock())

    def person_for_token(self, text: str) -> Person:
        """The person a bearer token acts as; revoked and unknown tokens fail alike."""
        prefix, _, rest = text.partition("_")
        token_id, _, secret = rest.partition("_")
        if prefix != TOKEN_PREFIX or not token_id or not secret:
            raise AuthenticationFailed("malformed API token; expected fe_<id>_<secret>")
        with self.engine.accounts_rows(writes=False) as unit:
            row = unit.token(token_id)
        if (
            row is None
            or row["revoked_at"] is not None
            or not hmac.compare_digest(row["secret_hash"], _sha256(secret))
        ):
            raise AuthenticationFailed("unknown or revoked API token")
        return self.engine.person(str(row["person_id"]))

    # -- throttling -----------------------------------------------------------------

    def check(self, throttle: Throttle, keys: Sequence[str]) -> None:
        """Raise :class:`TooManyAttempts` when any key has used up its failures."""
        since = self.engine.clock() - throttle.window
        with self.engine.accounts_rows(writes=False) as unit:
            over = any(unit.count_attempts([k], since) >= throttle.limit for k in keys)
        if over:
            raise TooManyAttempts(throttle.what, int(throttle.window.total_seconds()))

    def fail(self, throttle: Throttle, keys: Sequence[str]) -> None:
        """Count one failure for each key (in its own transaction: it must stick)."""
        now = self.engine.clock()
        with self.engine.accounts_rows() as unit:
            unit.add_attempts(keys, now)
            # old rows are pruned by whoever fails next; no sweeper process needed
            unit.clear_attempts((), before=now - 2 * throttle.window)

    # -- secrets --------------------------------------------------------------------

    def signing_key(self) -> str:
        """The key session cookies are signed with, shared by every process."""
        with self.engine.accounts_rows() as unit:
            return unit.secret("session_signing_key", secrets.token_urlsafe(48))


def _sha256(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()
