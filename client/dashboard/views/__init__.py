"""The dashboard's pages, one module per resource; each reads through the public API only."""
