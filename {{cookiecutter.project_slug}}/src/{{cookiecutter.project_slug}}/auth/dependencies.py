"""The dependency that gates an operation: `requires("items:read")` in a route's dependencies
(or as a parameter, for the principal). It runs before the database slot and the session are
taken, so a refused request, and a flood of them, holds no connection."""

from typing import Annotated, Any

from fastapi import Depends, Request, Security
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer, SecurityScopes

from ..request_context import caller_var
from .errors import InsufficientScopeError, MalformedRequestError, MissingTokenError
from .principal import LOCAL_PRINCIPAL, Principal
from .tokens import TokenVerifier

# The scheme in the OpenAPI document: /docs gets an Authorize button for a pasted token.
bearer = HTTPBearer(
    scheme_name="BearerToken",
    bearerFormat="JWT",
    description="An access token from the identity provider (a JWT, RFC 9068), with the "
    "scopes each operation lists.",
    auto_error=False,
)


async def authenticate(
    security_scopes: SecurityScopes,
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
) -> Principal:
    verifier: TokenVerifier | None = request.app.state.token_verifier
    if verifier is None:  # AUTH_DISABLED=true
        principal = LOCAL_PRINCIPAL
    elif len(request.headers.getlist("authorization")) > 1:
        raise MalformedRequestError("Send one Authorization header.")
    elif credentials is None:
        raise MissingTokenError("This operation needs a bearer token.")
    else:
        principal = await verifier.principal(credentials.credentials)
    if not principal.scopes.issuperset(security_scopes.scopes):
        raise InsufficientScopeError(security_scopes.scopes)
    caller_var.set((principal.sub, principal.client_id))
    return principal


def requires(*scopes: str) -> Any:
    """The gate of an operation that needs every one of `scopes`."""
    return Security(authenticate, scopes=list(scopes))
