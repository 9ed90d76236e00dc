"""The quality desk's services, one module per part: deviations (with reports out and
complaints), campaigns, statistics."""
