"""The traces' settings: OpenTelemetry's own environment variables (OTEL_*), read with the
service's other settings so that `.env` and the start-up validation cover them too."""

from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings

# The samplers of the OpenTelemetry specification (OTEL_TRACES_SAMPLER), by their names there.
SamplerName = Literal[
    "always_on",
    "always_off",
    "traceidratio",
    "parentbased_always_on",
    "parentbased_always_off",
    "parentbased_traceidratio",
]


class TracingSettings(BaseSettings):
    # Where spans go: "otlp" (OTLP over HTTP/protobuf to a collector), "console" (stdout, to
    # try it), or "none". Unlike the OpenTelemetry default ("otlp"), traces are off until an
    # exporter is named: a service without a collector does no tracing work at all.
    otel_traces_exporter: Literal["none", "otlp", "console"] = "none"
    # The `service.name` of every span.
    otel_service_name: str = "{{ cookiecutter.project_slug | replace('_', '-') }}"
    # The collector's traces URL (e.g. http://collector:4318/v1/traces); when unset,
    # OTEL_EXPORTER_OTLP_ENDPOINT with /v1/traces after it, and without either the
    # exporter's default, http://localhost:4318/v1/traces.
    otel_exporter_otlp_traces_endpoint: str | None = None
    otel_exporter_otlp_endpoint: str | None = None
    # Which traces are recorded. The parent-based samplers follow the caller's decision in
    # an incoming `traceparent`; the ratio samplers keep OTEL_TRACES_SAMPLER_ARG of the rest.
    otel_traces_sampler: SamplerName = "parentbased_always_on"
    otel_traces_sampler_arg: float = Field(default=1.0, ge=0, le=1)

    @property
    def tracing_enabled(self) -> bool:
        return self.otel_traces_exporter != "none"
