"""Stage 5: exact match, the process rules, the judge, the split, saved predictions, BFCL."""
