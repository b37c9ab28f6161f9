"""Stage 1a: API catalogs read into entries."""
