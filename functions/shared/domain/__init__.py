"""What the platform knows about: the `$.keel` context every task receives (its one definition: infra
builds the prologue's context from it), and the records kept in the platform's tables: decisions (the
hash-chained record), approval requests, manual overrides, event claims, and the limits decided by
conditional writes (cooldown leases, action and concurrency slots, debounce bursts). Stores take an adapter.
"""
