"""The conversations service: sole owner of conversations and messages, served over REST and
gRPC
"""
