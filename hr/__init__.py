"""The HR workflow around the interview, as a plain library (no HTTP, no sockets): scheduling, invitations,
reminders, webhooks, outcomes and the statistics that feed back into interview plans. `server/` is the glue."""
