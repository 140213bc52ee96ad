"""Forwarding audit events out of the gateway: SIEM export and alert webhooks.

Events reach an outbox table in the same transaction as the audit events (`router`), and
one background sender per process delivers them (`sender`) to the SIEM destination
(`destinations`) or to alert webhooks (`webhooks`), at least once and in order per sink.
"""
