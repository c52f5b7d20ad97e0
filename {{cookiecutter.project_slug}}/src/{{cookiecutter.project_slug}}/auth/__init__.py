"""Who may call: the service is an OAuth 2.0 resource server. It verifies the bearer access
tokens (JWTs, RFC 9068) that the team's identity provider issues, against the provider's JWKS,
and gates each operation by scope. It manages no users and no passwords."""
