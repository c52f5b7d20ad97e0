"""Traces (OpenTelemetry): set up per process from the OTEL_* settings, off unless an exporter
is named (settings.py). `provider.py` builds the SDK's provider, its exporter and the server
spans; the spans of the database slot, the unit of work and the statements are the database
package's (capacity.py, observability.py, tracing.py there)."""
