"""Logs, traces and metrics: Powertools for the Lambdas, Prometheus remote-write for the core.

Modules are imported one by one (no re-exports here) so the core does not load Powertools and a
Lambda does not load the remote-write encoder.
"""
