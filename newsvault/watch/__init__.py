"""Watching archived articles: re-fetch them later and notice when they are deleted."""
