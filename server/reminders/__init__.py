"""Reminders before booked interviews: their rows, planned in the booking's transaction (table.py), and the worker
that sends each one due at most once through the mail outbox (worker.py)."""
