"""Execution: run compiled SQL on a database engine and fetch raw aggregates."""
