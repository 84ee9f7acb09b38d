"""The gRPC door (package `chat.conversations.v1`)."""
