"""The baseline for GET /users/me: a bare FastAPI app whose one route only verifies the bearer
token, with the service's own TokenService (python-jose, the same key, algorithm, issuer,
audience and claim checks) and the same Authorization parsing. Served exactly like the
service (`python -m deploy.serve bench.bare_jwt_app:app`, two workers), it is what /users/me
would cost with no database, no session and no user lookup at all.

The route is a plain `def`, so FastAPI runs it in its thread pool: one thread hop per request,
as the service's token check makes one.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import FastAPI, Header
from fastapi.responses import JSONResponse

from A_DatabasePackage.settings import get_settings
from bench.baseline_tokens import token_service
from D_CustomExceptionPackage.errors import ServiceError
from I_ControllerPackage.current_user import bearer_token_from_header

settings = get_settings()
tokens = token_service(settings)
app = FastAPI(title="bare JWT baseline", docs_url=None, redoc_url=None)


@app.exception_handler(ServiceError)
async def unauthorized(_request: object, error: Exception) -> JSONResponse:
    code = error.code if isinstance(error, ServiceError) else "INVALID_TOKEN"
    return JSONResponse({"detail": "Not authenticated.", "code": code}, status_code=401)


@app.get("/users/me")
def me(authorization: Annotated[str | None, Header()] = None) -> dict[str, int]:
    claims = tokens.verify_access_token(bearer_token_from_header(authorization))
    return {"id": claims.user_id}


@app.get("/healthz")
async def healthz() -> dict[str, str]:
    return {"status": "ok"}
