"""kfix hardening rules: what a hardened pod looks like, independent of any file format."""
