"""The auth service: accounts, argon2id passwords, access JWTs with rotating keys, refresh-
token rotation, JWKS
"""
