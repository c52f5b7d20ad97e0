"""What the resources share: the domain error base, pagination, common field types and the
builder of OpenAPI links. Nothing here knows a resource."""
