"""Bodies of the key routes: the JWKS, the discovery document, admin key views, introspection."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict


class JwksOut(BaseModel):
    """RFC 7517 section 5: public keys only (never an HMAC secret or a private member)."""

    keys: list[dict[str, str]]


class OpenIdConfigurationOut(BaseModel):
    """The few OpenID Connect Discovery 1.0 fields a resource server needs."""

    issuer: str
    jwks_uri: str
    token_endpoint: str
    introspection_endpoint: str
    introspection_endpoint_auth_methods_supported: list[str]
    id_token_signing_alg_values_supported: list[str]
    token_endpoint_auth_methods_supported: list[str]
    grant_types_supported: list[str]
    response_types_supported: list[str]
    subject_types_supported: list[str]


class SigningKeyOut(BaseModel):
    """A signing key as an admin sees it: no key material at all."""

    kid: str
    algorithm: str
    state: Literal["standby", "active", "retired", "revoked"]
    created_at: datetime
    activates_at: datetime
    retired_at: datetime | None
    revoked_at: datetime | None
    verifies_until: datetime | None


class RotationOut(BaseModel):
    rotated: bool
    key: SigningKeyOut | None
    """The new key, or None when --if-older-than found the newest key young enough."""


class IntrospectionOut(BaseModel):
    """RFC 7662 section 2.2. Only `active` for a token that is not live."""

    model_config = ConfigDict(extra="forbid")

    active: bool
    sub: str | None = None
    username: str | None = None
    role: str | None = None
    exp: int | None = None
    iat: int | None = None
    iss: str | None = None
    aud: str | None = None
    jti: str | None = None
    sid: int | None = None
    token_type: Literal["Bearer"] | None = None
