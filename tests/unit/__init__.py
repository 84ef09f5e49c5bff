"""Unit tests: one layer on its own (schemas, tokens, hashing, policy, settings, services on
the in-memory fakes); no database, Redis or network."""
