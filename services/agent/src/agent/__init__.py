"""The stateless agent: runs a turn (history over gRPC, the model through the openai SDK) for
REST and ChatKit
"""
