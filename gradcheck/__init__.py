"""gradcheck: prove the gradient formulas of a one-hidden-layer network right or wrong.

Data flow: shapes → network → formulas → oracles → comparison → property tests /
grader → reports.
"""
__version__ = "0.1.0"
