"""Typed query functions over the named SQL of `sql/<module>.sql`; no Falcon imports here."""
