"""`keel new`: a working automation or module, written from templates (keel/scaffold/templates/).

What it writes passes `make test` and `keel local run` as it is, so an author starts from something
that runs and changes the decisions, not the plumbing.
"""
