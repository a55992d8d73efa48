"""The history views, one per file: shipped with the package as `ivs_replicas.sql`."""
