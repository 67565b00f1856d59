"""What the platform knows about: the `$.keel` context every task receives (its one definition: infra
builds the prologue's context from it), and the records kept in the platform's tables: decisions (the
hash-chained record), approval requests, manual overrides and event claims. Stores take an adapter.
"""
