"""The only package that imports Ray: driver, actor wrappers, limiters, collector, CLI."""
