"""Evaluation of stancekit stages on labelled data (quotes, stance, claims)."""
