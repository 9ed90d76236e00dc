"""The quality desk's selectors, one module per part: deviations (with reports out and
complaints), campaigns, statistics."""
