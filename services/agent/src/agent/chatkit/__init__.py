"""ChatKit protocol (`POST /chatkit`, openai-chatkit 1.6): threads ARE conversations and
thread items ARE messages, with the same ids, all stored by the conversations service (gRPC).

- `store.py`: the SDK's `Store` over gRPC. Thread metadata (status, metadata) lives in the
  conversation's `metadata_json`; a message's `payload_json` is
  `{"item": <ChatKit item JSON>, "feedback": "positive"|"negative", "feedback_at": ...}`.
  Messages without a payload (made over REST) are converted from role and content.
- `server.py`: the `ChatKitServer`; `respond()` runs the shared turn pipeline (`agent.turns`),
  so a ChatKit turn is stored exactly like a REST one.
- `routes.py`: the HTTP door; 404 for missing/foreign threads and items before anything streams.
"""
