"""The Litestar app: HTTP API, candidate and observer streams, auth, settings, persistence and the event bus.

Thin glue around `media` and `dialogue`; no interview logic or DSP lives here.
"""
