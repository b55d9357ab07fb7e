"""Build-time tools: the catalog and the generator of diagrams, tables and figures."""
