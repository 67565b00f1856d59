"""Operators' tools: `keel ops`."""
