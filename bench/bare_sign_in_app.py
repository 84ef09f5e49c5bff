"""What a sign-in costs with no bookkeeping: a bare FastAPI app whose POST /login parses the
service's LoginRequest, verifies the password with the service's own PasswordHasher (same
Argon2 parameters, hashing threads and HASH_CONCURRENCY) in a worker thread, and answers with
an access token from the service's TokenService. No database, session, refresh token, audit
row, throttle, log line, metrics or security headers.

Served exactly like the service (`python -m deploy.serve bench.bare_sign_in_app:app`, two
workers), its rate ÷ the raw Argon2 rate shows what FastAPI, uvicorn and the thread hops leave
of the raw limit, and the service's /login ÷ this app what the service's own work costs. It
only informs: the targets compare with the raw rate (README "Performance").
"""

from __future__ import annotations

from typing import Annotated

import anyio.to_thread
from fastapi import Body, FastAPI, HTTPException

from A_DatabasePackage.settings import get_settings
from bench.argon2_rate import PASSWORD
from bench.baseline_tokens import token_service
from C_SchemaPackage.request import LoginRequest
from E_SecurityPackage.password_hashing import PasswordHasher

BENCH_USER_ID = 1

settings = get_settings()
hasher = PasswordHasher(
    settings.ARGON2_MEMORY_KIB,
    settings.ARGON2_TIME_COST,
    settings.ARGON2_PARALLELISM,
    settings.HASH_CONCURRENCY,
)
stored_hash = hasher.hash(PASSWORD)
tokens = token_service(settings)
app = FastAPI(title="bare sign-in baseline", docs_url=None, redoc_url=None)


def _sign_in(credentials: LoginRequest) -> dict[str, str | int]:
    matches, _ = hasher.verify(credentials.password, stored_hash)
    if not matches:
        raise HTTPException(401, "Wrong password.")
    access = tokens.issue_access_token(BENCH_USER_ID, "user", 0, BENCH_USER_ID)
    return {"access_token": access.token, "token_type": "bearer", "expires_in": access.expires_in}


@app.post("/login")
async def login(credentials: Annotated[LoginRequest, Body()]) -> dict[str, str | int]:
    return await anyio.to_thread.run_sync(_sign_in, credentials)


@app.get("/healthz")
async def healthz() -> dict[str, str]:
    return {"status": "ok"}
