import uuid
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class LoginIn(BaseModel):
    identifier: str = Field(min_length=1, max_length=100)
    password: str = Field(min_length=1, max_length=200)
    refresh_token: str | None = Field(
        None,
        max_length=200,
        description="The refresh token this MonSisra device holds, when it logs in again "
        "(after strong_auth_required): looked up, never spent, it puts the attempt in the "
        "device's own throttle counter, out of reach of strangers' failures on the account. "
        "It logs no one in by itself.",
    )


class OtpFlowOut(BaseModel):
    flow_id: uuid.UUID
    expires_at: datetime
    email_hint: str
    resend_after_s: int


class DeviceIn(BaseModel):
    device_name: str = Field("Appareil", max_length=100)
    # the device this client already has, to renew it after strong_auth_required
    device_id: uuid.UUID | None = None


class OtpVerifyIn(DeviceIn):
    flow_id: uuid.UUID
    code: str = Field(min_length=1, max_length=20)


class OtpResendIn(BaseModel):
    flow_id: uuid.UUID


class CpsChallengeOut(BaseModel):
    challenge_id: uuid.UUID
    challenge: str  # base64: the exact bytes the card must sign (SHA-256 with RSA PKCS#1 v1.5)
    expires_at: datetime


class CpsVerifyIn(DeviceIn):
    challenge_id: uuid.UUID
    certificate: str = Field(max_length=20_000)  # base64 DER of the card's authentication cert
    chain: list[str] = Field(default_factory=list, max_length=5)
    signature: str = Field(max_length=2_000)


class RefreshIn(BaseModel):
    refresh_token: str = Field(min_length=10, max_length=200)


class TokensOut(BaseModel):
    access_token: str
    refresh_token: str
    token_type: str = "bearer"  # noqa: S105
    expires_at: datetime
    device_id: uuid.UUID
    professional_id: uuid.UUID


class WebTicketIn(BaseModel):
    target: str = Field("/", max_length=500)


class WebTicketOut(BaseModel):
    url: str
    expires_at: datetime


class DeviceOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    name: str
    kind: str
    auth_method: str
    created_at: datetime
    strong_auth_at: datetime | None
    last_seen_at: datetime | None
    revoked_at: datetime | None


# --- Pro Santé Connect (e-CPS), MonSisra's flow (RFC 8252: system browser + loopback) ---


class PscStartIn(BaseModel):
    redirect_uri: str = Field(max_length=200, examples=["http://127.0.0.1:53123/psc"])
    code_challenge: str = Field(max_length=43, description="base64url(SHA-256(verifier))")
    code_challenge_method: Literal["S256"] = "S256"
    state: str = Field(min_length=16, max_length=128)


class AuthMethodsOut(BaseModel):
    """The strong authentications this platform offers (MonSisra shows only those)."""

    cps: bool
    code: bool
    psc: bool


class PscStartOut(BaseModel):
    flow_id: uuid.UUID
    authorization_url: str
    expires_at: datetime


class PscTokenIn(DeviceIn):
    flow_id: uuid.UUID
    code: str = Field(min_length=1, max_length=100)
    code_verifier: str = Field(min_length=43, max_length=128)
