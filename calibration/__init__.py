"""From results to decisions: rubric and judge scores, rankings, EMA routing weights,
model selection. No Ray here: everything reads the archive and writes files beside it."""
