"""Vendor adapters. Each sits behind a small interface and ships a sandbox that speaks its protocol over
HTTP."""
