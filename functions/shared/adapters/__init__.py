"""Every AWS call goes through an adapter here; logic never sees botocore's ClientError.

Clients are passed in or made once per process on first use, never at import time.
"""
