"""The event worker (`python -m {{ cookiecutter.project_slug }} worker`): each event's handler
runs as a unit of work outside a request, once per event id (the inbox)."""
