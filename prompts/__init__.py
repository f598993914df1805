"""The LLM prompt templates, prompts/<language>/<task>.txt; this marker only lets them install with the code."""
