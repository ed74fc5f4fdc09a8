"""Governance around the pipeline: requests, steward decisions, releases and the audit chain.

See docs/governance.md for the workflow, the roles and the threat model.
"""
