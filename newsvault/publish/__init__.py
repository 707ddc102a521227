"""Publish: the forms the archive is read in. Each publisher reads only the store."""
