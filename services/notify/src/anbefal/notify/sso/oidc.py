"""The OpenID Connect conversation with a tenant's provider (authorization code with PKCE).

Three HTTP calls, each bounded: the provider's discovery document and its keys (both cached for a
while), and the code exchange. The ID token is verified here, never trusted because it came over
TLS: signature by a key from the provider's JWKS, issuer, audience (our client id), expiry and the
nonce this login sent.
"""

from __future__ import annotations

import base64
import hashlib
import secrets
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode, urlsplit

import httpx
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet

from anbefal.common.egress import PublicOnly, Resolver, resolve
from anbefal.common.lru import Lru

TIMEOUT_S = 10.0
CACHE_S = 600.0
# Signatures a provider may use for ID tokens; "none" and the HMAC family (keyed with the client
# secret, which the provider's documents do not sign) are never accepted.
ALGORITHMS = ("RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "EdDSA")


class ProviderError(Exception):
    """The provider could not be reached, or answered something that is not OpenID Connect."""


class Refused(Exception):
    """The provider's answer does not sign this person in (bad token, wrong nonce, ...)."""


@dataclass(frozen=True)
class Endpoints:
    issuer: str
    authorization: str
    token: str
    jwks_uri: str


@dataclass(frozen=True)
class Attempt:
    """What one login sends the provider and must see again at the callback."""

    state: str
    nonce: str
    verifier: str

    @classmethod
    def new(cls) -> Attempt:
        # The verifier: 43-128 characters of [A-Za-z0-9-._~] (RFC 7636 §4.1); 64 bytes give 86.
        return cls(
            state=secrets.token_urlsafe(24),
            nonce=secrets.token_urlsafe(24),
            verifier=secrets.token_urlsafe(64),
        )

    @property
    def challenge(self) -> str:
        """The S256 code challenge: BASE64URL(SHA256(verifier)) without padding (§4.2)."""
        digest = hashlib.sha256(self.verifier.encode("ascii")).digest()
        return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def check_issuer(issuer: str, *, allow_http: bool) -> str:
    """The issuer URL without a trailing slash; https only unless the operator allows http (a
    provider on the same machine in development). Raises ValueError saying why."""
    parts = urlsplit(issuer.strip())
    schemes = ("https", "http") if allow_http else ("https",)
    if parts.scheme not in schemes or not parts.hostname:
        raise ValueError("the issuer must be an https URL, such as https://login.example.com")
    if parts.username or parts.password or parts.query or parts.fragment:
        raise ValueError("the issuer must be a plain URL (no user, query or fragment)")
    return issuer.strip().rstrip("/")


def provider_http(
    *,
    allow_local: bool,
    resolver: Resolver = resolve,
    transport: httpx.AsyncBaseTransport | None = None,
) -> httpx.AsyncClient:
    """The client a sign-in calls its provider with. An admin names the issuer, so notify calls
    only public addresses (`common/egress.py`), follows no redirect and takes no proxy from the
    environment; `allow_local` (the operator's `ANBEFAL_SSO_ALLOW_HTTP_ISSUER`, for a provider
    on this machine in development) lifts the address rule."""
    return httpx.AsyncClient(
        transport=transport if allow_local else PublicOnly(resolver=resolver, transport=transport),
        follow_redirects=False,
        trust_env=False,
        timeout=TIMEOUT_S,
    )


class Provider:
    """Discovery and keys of the providers in use, cached per issuer for `CACHE_S`. Each call
    takes the HTTP client of the request it serves."""

    def __init__(self, *, clock: Any = time.monotonic) -> None:
        self._clock = clock
        self._endpoints: Lru[str, tuple[float, Endpoints]] = Lru(256)
        self._keys: Lru[str, tuple[float, KeySet]] = Lru(256)

    async def _json(self, client: httpx.AsyncClient, url: str) -> dict[str, Any]:
        try:
            response = await client.get(url, timeout=TIMEOUT_S)
            response.raise_for_status()
            body = response.json()
        except (httpx.HTTPError, ValueError) as exc:
            raise ProviderError(f"{url}: {exc}") from exc
        if not isinstance(body, dict):
            raise ProviderError(f"{url}: not a JSON object")
        return body

    async def endpoints(self, client: httpx.AsyncClient, issuer: str) -> Endpoints:
        cached = self._endpoints.get(issuer)
        if cached and cached[0] > self._clock():
            return cached[1]
        document = await self._json(client, f"{issuer}/.well-known/openid-configuration")
        # The document must be the issuer's own (OpenID Connect Discovery §4.3).
        if str(document.get("issuer", "")).rstrip("/") != issuer:
            raise ProviderError(f"the discovery document names another issuer: {issuer}")
        try:
            found = Endpoints(
                issuer=issuer,
                authorization=str(document["authorization_endpoint"]),
                token=str(document["token_endpoint"]),
                jwks_uri=str(document["jwks_uri"]),
            )
        except KeyError as exc:
            raise ProviderError(f"the discovery document has no {exc.args[0]}") from exc
        self._endpoints.put(issuer, (self._clock() + CACHE_S, found))
        return found

    async def _key_set(
        self, client: httpx.AsyncClient, endpoints: Endpoints, *, fresh: bool
    ) -> KeySet:
        cached = self._keys.get(endpoints.jwks_uri)
        if cached and cached[0] > self._clock() and not fresh:
            return cached[1]
        try:
            keys = KeySet.import_key_set(await self._json(client, endpoints.jwks_uri))  # type: ignore[arg-type]
        except (JoseError, ValueError) as exc:
            raise ProviderError(f"the provider's keys cannot be read: {exc}") from exc
        self._keys.put(endpoints.jwks_uri, (self._clock() + CACHE_S, keys))
        return keys

    async def authorization_url(
        self,
        client: httpx.AsyncClient,
        issuer: str,
        *,
        client_id: str,
        redirect_uri: str,
        attempt: Attempt,
        login_hint: str,
    ) -> str:
        endpoints = await self.endpoints(client, issuer)
        query = {
            "response_type": "code",
            "client_id": client_id,
            "redirect_uri": redirect_uri,
            "scope": "openid email profile",
            "state": attempt.state,
            "nonce": attempt.nonce,
            "code_challenge": attempt.challenge,
            "code_challenge_method": "S256",
        }
        if login_hint:
            query["login_hint"] = login_hint
        separator = "&" if "?" in endpoints.authorization else "?"
        return f"{endpoints.authorization}{separator}{urlencode(query)}"

    async def sign_in(
        self,
        client: httpx.AsyncClient,
        issuer: str,
        *,
        client_id: str,
        client_secret: str,
        redirect_uri: str,
        code: str,
        attempt: Attempt,
    ) -> dict[str, Any]:
        """Exchange the code for tokens and return the verified ID token's claims."""
        endpoints = await self.endpoints(client, issuer)
        try:
            response = await client.post(
                endpoints.token,
                data={
                    "grant_type": "authorization_code",
                    "code": code,
                    "redirect_uri": redirect_uri,
                    "code_verifier": attempt.verifier,
                },
                auth=(client_id, client_secret),
                timeout=TIMEOUT_S,
            )
            body = response.json()
        except (httpx.HTTPError, ValueError) as exc:
            raise ProviderError(f"token endpoint: {exc}") from exc
        if response.status_code != 200 or not isinstance(body, dict) or "id_token" not in body:
            why = body.get("error", response.status_code) if isinstance(body, dict) else "?"
            raise Refused(f"the provider refused the code ({why})")
        return await self._verified(
            client, endpoints, str(body["id_token"]), client_id, attempt.nonce
        )

    async def _verified(
        self,
        client: httpx.AsyncClient,
        endpoints: Endpoints,
        id_token: str,
        client_id: str,
        nonce: str,
    ) -> dict[str, Any]:
        for fresh in (False, True):  # a key unknown to the cache: the provider may have rotated
            keys = await self._key_set(client, endpoints, fresh=fresh)
            try:
                token = jwt.decode(id_token, keys, algorithms=list(ALGORITHMS))
                break
            except JoseError as exc:
                if fresh:
                    raise Refused(f"the ID token's signature does not verify: {exc}") from exc
        registry = jwt.JWTClaimsRegistry(
            leeway=60,
            iss={"essential": True, "value": endpoints.issuer},
            aud={"essential": True, "value": client_id},
            sub={"essential": True},
            exp={"essential": True},
            nonce={"essential": True, "value": nonce},
        )
        try:
            registry.validate(token.claims)
        except JoseError as exc:
            raise Refused(f"the ID token is not for this login: {exc}") from exc
        return dict(token.claims)
