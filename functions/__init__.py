"""Lambda function modules. Each is imported as functions.<module>.handler everywhere."""
