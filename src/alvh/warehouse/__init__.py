"""DuckDB storage only: connection and lock, DDL, migrations, upserts with revisions, reads,
validate-and-publish, exports — no transforms, no sources."""
