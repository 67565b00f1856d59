"""The keel command: the catalog, the local cloud (`keel local`) and operators' tools (`keel ops`)."""
