"""Clients and factories the end-to-end tests share."""
