"""The REST API of PROTOCOL.md section 1: small controllers over the store, typed request and response DTOs."""
