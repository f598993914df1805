"""The interview itself: plan, session state machine, follow-up and rephrase policy, scoring, LLM backends.

Knows nothing of sockets, audio frames or databases; the server drives it with typed events.
"""
