"""What tests share: fake vendor servers on loopback (`fake_*`), the app's signed-in callers
and served app (`app`), and each context's fixtures and helpers. Imported as `support.…`
(tests/ is on the path); test modules import from here, never from one another's files."""
