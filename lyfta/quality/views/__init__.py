"""The quality desk's views, one module per part: deviations (with reports out and
complaints), campaigns, statistics."""
