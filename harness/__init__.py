"""One model call, done right: provider seam, retries, timing, records, scorers. No Ray here."""
