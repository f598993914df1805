"""The candidate and observer streams of PROTOCOL.md sections 2 and 3, and the live sessions behind them."""
