"""Every AWS call goes through an adapter here; logic never sees botocore's ClientError."""
