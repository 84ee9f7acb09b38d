"""ChatKit protocol: threads are conversations, thread items are messages (over gRPC)."""
