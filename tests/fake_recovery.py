"""One-time tokens in memory, for the service tests over fakes: enough for the services that
end everything of an account (they spend its one-time tokens)."""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime

from B_EntityPackage.recovery_entities import OneTimeToken
from F_RepositoryPackage.recovery_repository import OneTimeTokenRepository


class FakeOneTimeTokenRepository(OneTimeTokenRepository):
    def __init__(self) -> None:
        self.tokens: list[OneTimeToken] = []

    def add(self, token: OneTimeToken) -> None:
        token.id = len(self.tokens) + 1
        self.tokens.append(token)

    def active_user_id_by_email(self, email: str) -> int | None:
        raise NotImplementedError("the fake users know no emails; use the SQL repositories")

    def _live(self, now: datetime) -> list[OneTimeToken]:
        return [t for t in self.tokens if t.used_at is None and t.expires_at > now]

    def live_by_hash(
        self, token_hash: str, purposes: Collection[str], now: datetime
    ) -> OneTimeToken | None:
        found = [t for t in self._live(now) if t.token_hash == token_hash and t.purpose in purposes]
        return found[0] if found else None

    def newest_live_for_email(self, email: str, purpose: str, now: datetime) -> OneTimeToken | None:
        found = [
            t
            for t in self._live(now)
            if t.purpose == purpose and (t.email or "").lower() == email.lower()
        ]
        return found[-1] if found else None

    def newest_live_of_user(self, user_id: int, purpose: str, now: datetime) -> OneTimeToken | None:
        found = [t for t in self._live(now) if t.user_id == user_id and t.purpose == purpose]
        return found[-1] if found else None

    def take_code_attempt(self, token_id: int, max_attempts: int) -> bool:
        token = self.tokens[token_id - 1]
        if token.used_at is not None or token.code_attempts >= max_attempts:
            return False
        token.code_attempts += 1
        return True

    def spend(self, token_id: int, now: datetime) -> bool:
        token = self.tokens[token_id - 1]
        if token.used_at is not None:
            return False
        token.used_at = now
        return True

    def spend_all_of_user(self, user_id: int, now: datetime, purposes: Collection[str]) -> int:
        spent = 0
        for token in self.tokens:
            mine = token.user_id == user_id and token.used_at is None
            if mine and token.purpose in purposes:
                token.used_at = now
                spent += 1
        return spent
