"""The rules. Each module owns one domain; services are the only place that commits."""
