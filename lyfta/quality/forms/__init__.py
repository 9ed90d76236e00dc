"""The quality desk's forms, one module per part: deviations (with reports out and
complaints), campaigns, statistics."""
