"""Importers: runs recorded by other tools, written into the tracking database."""
