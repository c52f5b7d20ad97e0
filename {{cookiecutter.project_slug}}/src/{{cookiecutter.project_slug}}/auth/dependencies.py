"""The dependency that gates an operation: `requires("items:read")` in a route's dependencies
(or as a parameter, for the principal). It runs before the database slot and the session are
taken, so a refused request, and a flood of them, holds no connection."""

from typing import Any

from fastapi import Request, Security
from fastapi.security import HTTPBearer, SecurityScopes

from ..request_context import caller_var
from .errors import InsufficientScopeError, MalformedRequestError, MissingTokenError
from .principal import LOCAL_PRINCIPAL, Principal
from .tokens import TokenVerifier


class BearerGate(HTTPBearer):
    """The bearer scheme of the OpenAPI document (/docs gets an Authorize button for a pasted
    token) and the gate itself, in one dependency: FastAPI resolves each dependency of a route
    on every request, about 75 function calls apiece, and the scheme's own reading of the
    header (`HTTPBearer.__call__`) is called from here instead."""

    async def __call__(  # type: ignore[override]
        self, request: Request, security_scopes: SecurityScopes
    ) -> Principal:
        verifier: TokenVerifier | None = request.app.state.token_verifier
        if verifier is None:  # AUTH_DISABLED=true
            principal = LOCAL_PRINCIPAL
        elif len(request.headers.getlist("authorization")) > 1:
            raise MalformedRequestError("Send one Authorization header.")
        else:
            credentials = await super().__call__(request)
            if credentials is None:
                raise MissingTokenError("This operation needs a bearer token.")
            principal = await verifier.principal(credentials.credentials)
        if not principal.scopes.issuperset(security_scopes.scopes):
            raise InsufficientScopeError(security_scopes.scopes)
        caller_var.set((principal.sub, principal.client_id))
        return principal


authenticate = BearerGate(
    scheme_name="BearerToken",
    bearerFormat="JWT",
    description="An access token from the identity provider (a JWT, RFC 9068), with the "
    "scopes each operation lists.",
    auto_error=False,
)


def requires(*scopes: str) -> Any:
    """The gate of an operation that needs every one of `scopes`."""
    return Security(authenticate, scopes=list(scopes))
