"""The names the service's own spans go by."""

# The instrumentation scope of the service's own spans (the database slot, the unit of work).
TRACER_NAME = "{{ cookiecutter.project_slug }}"
