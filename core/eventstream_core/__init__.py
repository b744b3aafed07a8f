"""The EventStream core: a long-lived TCP server whose writers commit events to Postgres in batches.

Installed as the package `eventstream_core`; `python -m eventstream_core` (or the console script
`eventstream-core`) starts a node.
"""
