"""What every way in shares: the size-limited body, the rate limit, the kept refusals, the
cached source lookup, and the one path an answer takes out (dedupe, publish, acknowledge)."""
