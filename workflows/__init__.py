"""Deterministic workflow code; the worker registers `workflows.registry.WORKFLOWS`.

This file stays empty on purpose. The sandbox imports a workflow's module anew for every run
it creates (each new incident, each evicted one that wakes up), and with it this package: when
it imported every workflow module to list them, each new incident paid for importing all
eleven (about a fifth of the worker's CPU while incidents opened, seen with py-spy).
"""
