"""The request meter (every attempt of every request to a store or warehouse) and the stores'
request budgets (DESIGN.md invariant 3, "Cost model")."""
