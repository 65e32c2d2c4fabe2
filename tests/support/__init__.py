"""Helpers the tests share: real servers on loopback, the sandbox, redis, fixture data."""
