"""What the kernel shows the outside world: OpenTelemetry export (``aios.telemetry.otel``).

Nothing here is imported by the kernel unless telemetry is enabled, so ``opentelemetry`` stays
an optional dependency (the ``aios-kernel[otel]`` extra).
"""
