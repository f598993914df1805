"""Personal data on request and on time: erasing a candidate (erasure.py), exporting what is held about them
(export.py), and deleting each data class once its retention period is over (retention.py)."""
