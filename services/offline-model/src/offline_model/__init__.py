"""An offline, deterministic OpenAI-compatible model server for development and tests (never
for production)
"""
