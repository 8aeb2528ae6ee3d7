"""`make bench`: what Tokenyard adds to a call, measured side by side with a direct call (issue 3)."""
