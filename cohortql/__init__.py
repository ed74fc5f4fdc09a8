"""cohortql: cohort feasibility counts on OMOP CDM warehouses, protected before release."""

__version__ = "0.1.0"
