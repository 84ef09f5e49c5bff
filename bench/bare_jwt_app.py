"""The baseline for GET /users/me: a bare FastAPI app whose one route only verifies the bearer
token, with the service's own TokenService (python-jose, the same key, algorithm, issuer,
audience and claim checks) and the same Authorization parsing; no database, session or user.

bench/run.py serves it like the service, `gunicorn -k uvicorn_worker.UvicornWorker -w 2
bench.bare_jwt_app:app`, with the service's environment. The route is a plain `def`, so
FastAPI runs it in its thread pool: one thread hop per request, as the service's check makes.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated

from fastapi import FastAPI, Header, Request
from fastapi.responses import JSONResponse

from A_DatabasePackage.settings import Settings, get_settings
from D_CustomExceptionPackage.errors import ServiceError
from E_SecurityPackage.login_auth_jwt import TokenService
from I_ControllerPackage.current_user import bearer_token_from_header


def token_service(settings: Settings) -> TokenService:
    """The TokenService the service builds from the same settings."""
    return TokenService(
        secret_key=settings.secret_key(),
        algorithm=settings.JWT_ALGORITHM,
        issuer=settings.JWT_ISSUER,
        audience=settings.JWT_AUDIENCE,
        lifetime=timedelta(minutes=settings.ACCESS_TOKEN_EXPIRE_MINUTES),
    )


tokens = token_service(get_settings())
app = FastAPI(title="bare JWT baseline", docs_url=None, redoc_url=None)


@app.exception_handler(ServiceError)
async def unauthorized(_request: Request, error: Exception) -> JSONResponse:
    """401 with the service's error code for a missing or invalid token."""
    code = error.code if isinstance(error, ServiceError) else "INVALID_TOKEN"
    return JSONResponse({"detail": "Not authenticated.", "code": code}, status_code=401)


@app.get("/users/me")
def me(authorization: Annotated[str | None, Header()] = None) -> dict[str, int]:
    """The id in a valid bearer token."""
    claims = tokens.verify_access_token(bearer_token_from_header(authorization))
    return {"id": claims.user_id}


@app.get("/healthz")
async def healthz() -> dict[str, str]:
    return {"status": "ok"}
