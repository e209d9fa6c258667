"""Sizing and classifying zones (issue 4): the sizing policy, workload, zone classes,
recommended officers, compliance with staffing norms, balance across zones and analysis grids.

Pure computations live in policy/sizing/compliance/balance; the database is read through
jurisgrid.models.aggregates and jurisgrid.models.policy.
"""
